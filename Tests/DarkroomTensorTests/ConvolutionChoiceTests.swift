import XCTest
import DarkroomTensor
import DarkroomTestSupport

/// The 3×3 convolutions' choice between Darkroom's own kernels and oneDNN's, and every backend's numerics.
final class ConvolutionChoiceTests: XCTestCase {
    override func tearDown() {
        ConvolutionChoice.override = nil
        ConvolutionChoice.reset()
    }

    /// Shapes across the kernels' regimes: a thin first layer, odd sizes, the small UNet's widths, IF-like wide
    /// channels at 8², and a batch.
    private let shapes: [(n: Int, ci: Int, co: Int, h: Int, w: Int)] = [
        (2, 1, 16, 12, 12), (1, 7, 5, 9, 11), (3, 32, 32, 14, 14), (1, 96, 80, 8, 8), (4, 16, 24, 7, 7),
    ]

    func testEveryBackendStaysWithinTheRoundingBoundOfItsAlgorithm() throws {
        var rng = RandomSource(seed: 41)
        try ConvolutionBackends.each { backend in
            for s in shapes {
                let x = rng.gaussian([s.n, s.ci, s.h, s.w]), weight = rng.gaussian([s.co, s.ci, 3, 3]), bias = rng.gaussian([s.co])
                let out = try Conv2d.forward(x, weight: weight, bias: bias, stride: 1, padding: 1)
                let exact = ConvolutionErrorBound.exact(x, weight: weight, bias: bias)
                let bound = backend == .oneDNNWinograd
                    ? ConvolutionErrorBound.winograd(.f4x4, x, weight: weight, bias: bias)
                    : ConvolutionErrorBound.direct(absoluteSum: exact.absoluteSum, inputs: s.ci)
                ConvolutionErrorBound.assertWithin(out, exact: exact.values, bound: bound, "\(backend.rawValue) \(s)")
            }
            XCTAssertTrue(ConvolutionChoice.taken.allSatisfy { $0.backend == backend }, "forced \(backend.rawValue): \(ConvolutionChoice.taken)")
        }
    }

    func testEveryBackendsGradientsMatchTheColumnGradients() throws {
        var rng = RandomSource(seed: 43)
        try ConvolutionBackends.each { backend in
            for s in shapes {
                let x = rng.gaussian([s.n, s.ci, s.h, s.w]), weight = rng.gaussian([s.co, s.ci, 3, 3]), dy = rng.gaussian([s.n, s.co, s.h, s.w])
                // The gradients are added into what the tensors hold already.
                let start = rng.gaussian(weight.shape), startBias = rng.gaussian([s.co])
                let (grad, columnGrad) = (start.copy(), start.copy())
                let (bias, columnBias) = (startBias.copy(), startBias.copy())
                let dx = try Conv2d.backward(dy, x: x, weight: weight, stride: 1, padding: 1, weightGrad: grad, biasGrad: bias)!
                let columns = try Conv2d.backwardByColumns(dy, x: x, weight: weight, stride: 1, padding: 1,
                                                           weightGrad: columnGrad, biasGrad: columnBias)!
                // Sums of 9·Co (dx) and N·H·W (dW) unit-scale products: errors of a few ulps of their square roots' scale.
                XCTAssertLessThan(maxAbsDifference(dx, columns), 2e-4 * Float(s.co * 9).squareRoot(), "\(backend.rawValue) dx \(s)")
                XCTAssertLessThan(maxAbsDifference(grad, columnGrad), 2e-4 * Float(s.n * s.h * s.w).squareRoot(), "\(backend.rawValue) dW \(s)")
                XCTAssertLessThan(maxAbsDifference(bias, columnBias), 1e-4 * Float(s.n * s.h * s.w).squareRoot(), "\(backend.rawValue) db \(s)")
                XCTAssertNil(try Conv2d.backward(dy, x: x, weight: weight, stride: 1, padding: 1, weightGrad: Tensor(zeros: weight.shape),
                                                 biasGrad: nil, inputGrad: false), "no input gradient asked for")
            }
        }
    }

    func testAMeasuredChoiceTimesEveryCandidateAndItsTrialsLeaveTheResultsUntouched() throws {
        ConvolutionChoice.override = nil
        ConvolutionChoice.reset()
        var rng = RandomSource(seed: 47)
        let x = rng.gaussian([2, 32, 10, 10]), weight = rng.gaussian([16, 32, 3, 3]), dy = rng.gaussian([2, 16, 10, 10])
        let start = rng.gaussian(weight.shape)
        // The first call measures (trials add into scratch, not into the gradient); the second only looks it up.
        let (grad, columnGrad) = (start.copy(), start.copy())
        for _ in 0..<2 {
            _ = try Conv2d.backward(dy, x: x, weight: weight, stride: 1, padding: 1, weightGrad: grad, biasGrad: nil)
            _ = try Conv2d.backwardByColumns(dy, x: x, weight: weight, stride: 1, padding: 1, weightGrad: columnGrad, biasGrad: nil)
        }
        XCTAssertLessThan(maxAbsDifference(grad, columnGrad), 1e-3, "the gradient was added exactly twice")
        let y = try Conv2d.forward(x, weight: weight, bias: nil, stride: 1, padding: 1)
        XCTAssertLessThan(maxAbsDifference(y, try Conv2d.forwardByColumns(x, weight: weight, bias: nil, stride: 1, padding: 1)), 1e-3)

        let taken = ConvolutionChoice.taken
        XCTAssertEqual(Set(taken.map(\.pass)), ["forward", "inputGradient", "weightGradient"], "\(taken)")
        for decision in taken {
            // Every candidate that has a kernel for the pass and shape is timed: Darkroom's own and oneDNN's direct one at least.
            let timed = Set(decision.seconds.keys)
            XCTAssertTrue(timed.isSubset(of: ConvolutionBackends.available) && timed.contains(.own), "\(decision)")
            if ConvolutionChoice.isAvailable(.oneDNNDirect) { XCTAssertTrue(timed.contains(.oneDNNDirect), "\(decision)") }
            let fastest = decision.seconds.min { $0.value < $1.value }!.key
            XCTAssertEqual(decision.backend, fastest, "the fastest candidate wins: \(decision)")
            XCTAssertEqual(decision.implementation == nil, decision.backend == .own, "oneDNN's kernel is named: \(decision)")
        }
    }

    func testAForcedBackendRunsUnmeasuredAndAnUnavailableOneFallsBackToTheNext() throws {
        var rng = RandomSource(seed: 53)
        let x = rng.gaussian([1, 8, 6, 6]), weight = rng.gaussian([8, 8, 3, 3])
        for backend in ConvolutionBackends.available {
            ConvolutionChoice.override = [backend]
            ConvolutionChoice.reset()
            _ = try Conv2d.forward(x, weight: weight, bias: nil, stride: 1, padding: 1)
            XCTAssertEqual(ConvolutionChoice.taken.map(\.backend), [backend])
            XCTAssertEqual(ConvolutionChoice.taken.first?.seconds.isEmpty, true, "a forced choice is not measured")
        }
        // oneDNN's Winograd needs AVX-512; without it the next in the order given runs, here Darkroom's own.
        ConvolutionChoice.override = [.oneDNNWinograd, .own]
        ConvolutionChoice.reset()
        _ = try Conv2d.forward(x, weight: weight, bias: nil, stride: 1, padding: 1)
        XCTAssertEqual(ConvolutionChoice.taken.map(\.backend), [ConvolutionChoice.isAvailable(.oneDNNWinograd) ? .oneDNNWinograd : .own])
    }
}
