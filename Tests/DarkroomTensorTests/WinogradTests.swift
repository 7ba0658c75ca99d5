import XCTest
import DarkroomTensor
import DarkroomTestSupport

/// Both Winograd convolutions and the im2col one they replace, each against the exact (Double) convolution within the
/// bound on its own rounding error (`ConvolutionErrorBound`): whatever BLAS kernel runs the GEMMs, a correct
/// algorithm stays inside it, and a wrong tile, transform or padding lands far outside: its errors are of the order of
/// the outputs, typically |y| ≈ Σ|x·w| / √(9·Ci), 0.04–0.2·Σ|x·w| here, while the bounds stay below 0.01·Σ|x·w|
/// (asserted too).
func assertWithinRoundingBounds(_ algorithm: ConvolutionErrorBound.Winograd, _ out: Tensor, _ x: Tensor, _ weight: Tensor, _ bias: Tensor,
                                _ label: String, file: StaticString = #filePath, line: UInt = #line) throws {
    let exact = ConvolutionErrorBound.exact(x, weight: weight, bias: bias)
    let bound = ConvolutionErrorBound.winograd(algorithm, x, weight: weight, bias: bias)
    ConvolutionErrorBound.assertWithin(out, exact: exact.values, bound: bound, "F(\(algorithm.m)x\(algorithm.m)) \(label)", file: file, line: line)
    let widest = zip(bound, exact.absoluteSum).map { $0 / max($1, 1e-30) }.max() ?? 0
    XCTAssertLessThan(widest, 1e-2, "F(\(algorithm.m)x\(algorithm.m))'s bound relative to Σ|x·w| \(label)", file: file, line: line)
    let im2col = try Conv2d.forwardByColumns(x, weight: weight, bias: bias, stride: 1, padding: 1)
    ConvolutionErrorBound.assertWithin(im2col, exact: exact.values, bound: ConvolutionErrorBound.direct(absoluteSum: exact.absoluteSum, inputs: x.shape[1]),
                                       "im2col \(label)", file: file, line: line)
}

/// Winograd F(2×2, 3×3) against the exact convolution.
final class WinogradTests: XCTestCase {
    func testMatchesDirectConvolution() throws {
        var rng = RandomSource(seed: 9)
        for (batch, ci, co, h, w) in [(1, 3, 5, 8, 8), (2, 16, 8, 7, 9), (1, 32, 48, 32, 32), (2, 5, 3, 1, 1), (1, 8, 8, 2, 3)] {
            let x = rng.gaussian([batch, ci, h, w]), weight = rng.gaussian([co, ci, 3, 3]), bias = rng.gaussian([co])
            try assertWithinRoundingBounds(.f2x2, try WinogradConv3x3(weight: weight, bias: bias)(x), x, weight, bias, "B\(batch) \(ci)->\(co) \(h)x\(w)")
        }
    }

    func testWithoutBiasAndSingleThreaded() throws {
        let saved = Engine.threads
        Engine.threads = 1
        defer { Engine.threads = saved }
        var rng = RandomSource(seed: 10)
        let x = rng.gaussian([1, 4, 6, 10]), weight = rng.gaussian([6, 4, 3, 3])
        let out = try WinogradConv3x3(weight: weight, bias: nil)(x)
        assertClose(out, try Conv2d.forward(x, weight: weight, bias: nil, stride: 1, padding: 1), tolerance: 1e-5)
    }

    func testStreamedHalfWeightsInSeveralBlocksMatchTheDirectConvolution() throws {
        // 70×90 has 35 tile rows of 45 tiles: more than one block of tile rows. The fp16 weight is transformed again
        // at each call, so a second call must give the same result.
        var rng = RandomSource(seed: 11)
        let (ci, co) = (6, 5)
        let x = rng.gaussian([2, ci, 70, 90]), bias = rng.gaussian([co])
        let bits = (0..<(co * ci * 9)).map { _ in Float16(rng.gaussian()).bitPattern }
        let storage = bits.withUnsafeBufferPointer { Data(buffer: $0) } as NSData
        let half = WeightTensor(half: storage.bytes.assumingMemoryBound(to: UInt16.self), shape: [co, ci, 3, 3], owner: storage)
        let expected = try Conv2d.forward(x, weight: half.widened(), bias: bias, stride: 1, padding: 1)
        let conv = try WinogradConv3x3(streaming: half, bias: bias)
        XCTAssertNil(conv.transformed)
        for call in 1...2 { assertClose(try conv(x), expected, tolerance: 1e-4, "call \(call)") }
    }

    func testWrongShapesAreErrors() throws {
        XCTAssertThrowsError(try WinogradConv3x3(weight: Tensor(zeros: [2, 2, 5, 5]), bias: nil))
        let conv = try WinogradConv3x3(weight: Tensor(zeros: [2, 3, 3, 3]), bias: nil)
        XCTAssertThrowsError(try conv(Tensor(zeros: [1, 4, 8, 8])))
    }
}

/// Winograd F(4×4, 3×3) against the exact convolution and the im2col one.
final class Winograd4x4Tests: XCTestCase {
    func testMatchesDirectConvolution() throws {
        var rng = RandomSource(seed: 12)
        // Sizes that are and are not multiples of 4 and of 8 tiles, a one-pixel image; 70×90 (432 tiles) one sample per
        // block, 64×200 (896 tiles) two blocks of tile rows, batch 3 at 48×48 (192 tiles) blocks of two samples and one.
        for (batch, ci, co, h, w) in [(1, 3, 5, 8, 8), (2, 16, 8, 7, 9), (1, 32, 48, 32, 32), (2, 5, 3, 1, 1), (1, 8, 8, 2, 3),
                                      (2, 6, 5, 70, 90), (1, 4, 4, 64, 200), (3, 5, 7, 48, 48)] {
            let x = rng.gaussian([batch, ci, h, w]), weight = rng.gaussian([co, ci, 3, 3]), bias = rng.gaussian([co])
            try assertWithinRoundingBounds(.f4x4, try Winograd4x4Conv3x3(weight: weight, bias: bias)(x), x, weight, bias, "B\(batch) \(ci)->\(co) \(h)x\(w)")
        }
    }

    func testStreamedHalfWeightsMatchResidentOnesSingleThreadedToo() throws {
        var rng = RandomSource(seed: 13)
        let (ci, co) = (7, 6)
        let x = rng.gaussian([2, ci, 33, 41]), bias = rng.gaussian([co])
        let bits = (0..<(co * ci * 9)).map { _ in Float16(rng.gaussian()).bitPattern }
        let storage = bits.withUnsafeBufferPointer { Data(buffer: $0) } as NSData
        let half = WeightTensor(half: storage.bytes.assumingMemoryBound(to: UInt16.self), shape: [co, ci, 3, 3], owner: storage)
        let expected = try Conv2d.forward(x, weight: half.widened(), bias: bias, stride: 1, padding: 1)
        let streamed = try Winograd4x4Conv3x3(streaming: half, bias: bias)
        XCTAssertNil(streamed.transformed)
        for call in 1...2 { assertClose(try streamed(x), expected, tolerance: 2e-4, "call \(call)") }
        let saved = Engine.threads
        Engine.threads = 1
        defer { Engine.threads = saved }
        assertClose(try Winograd4x4Conv3x3(weight: half.widened(), bias: nil)(x),
                    try Conv2d.forward(x, weight: half.widened(), bias: nil, stride: 1, padding: 1), tolerance: 2e-4, "one thread")
    }

    func testWrongShapesAreErrors() throws {
        XCTAssertThrowsError(try Winograd4x4Conv3x3(weight: Tensor(zeros: [2, 2, 5, 5]), bias: nil))
        XCTAssertThrowsError(try Winograd4x4Conv3x3(weight: Tensor(zeros: [2, 3, 3, 3]), bias: nil)(Tensor(zeros: [1, 4, 8, 8])))
    }
}
