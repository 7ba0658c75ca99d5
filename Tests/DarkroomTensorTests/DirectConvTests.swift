import XCTest
import DarkroomTestSupport
@testable import DarkroomTensor

/// The direct 3×3 convolution (AVX-512) against a plain sum in double precision: forward, input gradient, and the
/// routing of `Conv2d` through it.
final class DirectConvTests: XCTestCase {
    /// Without AVX-512 the kernel must never be chosen (Conv2d keeps im2col); with it, the tests below run.
    var available: Bool {
        if !DirectConv3x3.isAvailable { XCTAssertFalse(DirectConv3x3.suits(inputs: 8, outputs: 8)) }
        return DirectConv3x3.isAvailable
    }

    /// conv(x, w) + b with stride 1 and padding 1, summed naively.
    func reference(_ x: Tensor, _ w: Tensor, _ b: Tensor?) -> Tensor {
        let (n, ci, h, wd, co) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], w.shape[0])
        let out = Tensor(zeros: [n, co, h, wd])
        for s in 0..<n { for o in 0..<co { for y in 0..<h { for xx in 0..<wd {
            var sum = Double(b?.pointer[o] ?? 0)
            for c in 0..<ci { for ky in 0..<3 { for kx in 0..<3 {
                let (iy, ix) = (y + ky - 1, xx + kx - 1)
                if iy >= 0, iy < h, ix >= 0, ix < wd { sum += Double(x[s, c, iy, ix]) * Double(w[o, c, ky, kx]) }
            } } }
            out[s, o, y, xx] = Float(sum)
        } } } }
        return out
    }

    func testForwardMatchesTheDirectSumAcrossShapes() throws {
        try XCTSkipUnless(available, "the direct kernels need AVX-512 F/DQ/BW/VL (cpuid), which this CPU lacks")
        var rng = RandomSource(seed: 21)
        // Partial output blocks (20 = 16 + 4), one pixel, odd sizes, the small UNet's 28² and 7², one sample (split by
        // positions across threads) and several (split by samples).
        for (n, ci, co, h, w) in [(3, 5, 20, 9, 13), (2, 3, 1, 1, 1), (1, 7, 16, 28, 28), (4, 17, 33, 7, 7), (1, 4, 5, 3, 40), (2, 6, 12, 10, 11)] {
            let x = rng.gaussian([n, ci, h, w]), weight = rng.gaussian([co, ci, 3, 3]), bias = rng.gaussian([co])
            let y = try DirectConv3x3.forward(x, weight: weight, bias: bias)
            XCTAssertEqual(y.shape, [n, co, h, w])
            XCTAssertLessThan(maxAbsDifference(y, reference(x, weight, bias)), 1e-4, "\(n)x\(ci)x\(h)x\(w) -> \(co)")
            XCTAssertEqual(try Conv2d.forward(x, weight: weight, bias: bias, stride: 1, padding: 1).scalars, y.scalars)
        }
    }

    func testInputGradientIsTheAdjointOfTheForwardPass() throws {
        // ⟨conv(x), dy⟩ = ⟨x, dx⟩ for every x: checked on random x and dy, and against the direct sum with a flipped,
        // transposed kernel.
        try XCTSkipUnless(available, "the direct kernels need AVX-512 F/DQ/BW/VL (cpuid), which this CPU lacks")
        var rng = RandomSource(seed: 22)
        for (n, ci, co, h, w) in [(2, 5, 20, 9, 13), (1, 18, 3, 14, 14)] {
            let x = rng.gaussian([n, ci, h, w]), weight = rng.gaussian([co, ci, 3, 3]), dy = rng.gaussian([n, co, h, w])
            let dx = try DirectConv3x3.inputGradient(dy, weight: weight)
            XCTAssertEqual(dx.shape, x.shape)
            let y = try DirectConv3x3.forward(x, weight: weight, bias: nil)
            let lhs = zip(y.scalars, dy.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let rhs = zip(x.scalars, dx.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            XCTAssertEqual(lhs, rhs, accuracy: 1e-3 * max(abs(lhs), 1))
            let flipped = Tensor(uninitialized: [ci, co, 3, 3])
            for o in 0..<co { for c in 0..<ci { for t in 0..<9 { flipped[c, o, t / 3, t % 3] = weight[o, c, 2 - t / 3, 2 - t % 3] } } }
            XCTAssertLessThan(maxAbsDifference(dx, reference(dy, flipped, nil)), 1e-4)
        }
    }

    func testConv2dBackwardThroughTheDirectKernelsMatchesColumns() throws {
        // The input and weight gradients Conv2d.backward takes from the direct kernels equal the ones made from columns.
        try XCTSkipUnless(available, "the direct kernels need AVX-512 F/DQ/BW/VL (cpuid), which this CPU lacks")
        var rng = RandomSource(seed: 23)
        // The second shape's samples (64 channels at 28²) fill the weight gradient's ~1 MB groups in threes.
        for (n, ci, co, h, w) in [(2, 6, 10, 8, 8), (7, 64, 10, 28, 28)] {
            let x = rng.gaussian([n, ci, h, w]), weight = rng.gaussian([co, ci, 3, 3]), dy = rng.gaussian([n, co, h, w])
            let (grad, columnGrad) = (Tensor(zeros: weight.shape), Tensor(zeros: weight.shape))
            let (bias, columnBias) = (Tensor(zeros: [co]), Tensor(zeros: [co]))
            let dx = try Conv2d.backward(dy, x: x, weight: weight, stride: 1, padding: 1, weightGrad: grad, biasGrad: bias)!
            let columns = try Conv2d.backwardByColumns(dy, x: x, weight: weight, stride: 1, padding: 1,
                                                       weightGrad: columnGrad, biasGrad: columnBias)!
            XCTAssertLessThan(maxAbsDifference(dx, columns), 1e-4)
            XCTAssertLessThan(maxAbsDifference(grad, columnGrad), 1e-3)
            XCTAssertEqual(bias.scalars, columnBias.scalars)
        }
    }
}

extension DirectConvTests {
    func testWorkSplitsHoldForMoreThreadsThanTheWorkHas() throws {
        // Six threads on one sample's 224 flattened positions at 14² (the last chunk starts past the end), and four
        // threads on a batch of five for the weight gradient (the last part has no sample).
        try XCTSkipUnless(available, "the direct kernels need AVX-512 F/DQ/BW/VL (cpuid), which this CPU lacks")
        let saved = Engine.threads
        defer { Engine.threads = saved }
        var rng = RandomSource(seed: 24)
        for threads in [6, 4, 3] {
            Engine.threads = threads
            let x = rng.gaussian([1, 5, 14, 14]), weight = rng.gaussian([7, 5, 3, 3])
            XCTAssertLessThan(maxAbsDifference(try DirectConv3x3.forward(x, weight: weight, bias: nil), reference(x, weight, nil)), 1e-4)
            let batch = rng.gaussian([5, 5, 6, 6]), dy = rng.gaussian([5, 7, 6, 6])
            let (grad, columnGrad) = (Tensor(zeros: weight.shape), Tensor(zeros: weight.shape))
            try DirectConv3x3.weightGradient(dy, x: batch, into: grad)
            _ = try Conv2d.backwardByColumns(dy, x: batch, weight: weight, stride: 1, padding: 1, weightGrad: columnGrad, biasGrad: nil)
            XCTAssertLessThan(maxAbsDifference(grad, columnGrad), 1e-4, "\(threads) threads")
        }
    }
}
