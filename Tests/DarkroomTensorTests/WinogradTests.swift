import XCTest
import DarkroomTensor
import DarkroomTestSupport

/// Winograd F(2×2, 3×3) against the im2col convolution (itself checked against PyTorch in LayerParityTests).
final class WinogradTests: XCTestCase {
    func testMatchesDirectConvolution() throws {
        var rng = RandomSource(seed: 9)
        for (batch, ci, co, h, w) in [(1, 3, 5, 8, 8), (2, 16, 8, 7, 9), (1, 32, 48, 32, 32), (2, 5, 3, 1, 1), (1, 8, 8, 2, 3)] {
            let x = rng.gaussian([batch, ci, h, w]), weight = rng.gaussian([co, ci, 3, 3]), bias = rng.gaussian([co])
            let expected = try Conv2d.forward(x, weight: weight, bias: bias, stride: 1, padding: 1)
            let conv = try WinogradConv3x3(weight: weight, bias: bias)
            let out = try conv(x)
            // Sums of 9·Ci products of unit Gaussians: allow the rounding of a different summation order.
            let scale = Float(9 * ci).squareRoot()
            assertClose(out, expected, tolerance: 2e-6 * scale * 4, "B\(batch) \(ci)->\(co) \(h)x\(w)")
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

    func testWrongShapesAreErrors() throws {
        XCTAssertThrowsError(try WinogradConv3x3(weight: Tensor(zeros: [2, 2, 5, 5]), bias: nil))
        let conv = try WinogradConv3x3(weight: Tensor(zeros: [2, 3, 3, 3]), bias: nil)
        XCTAssertThrowsError(try conv(Tensor(zeros: [1, 4, 8, 8])))
    }
}
