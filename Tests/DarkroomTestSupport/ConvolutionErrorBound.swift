import Foundation
import XCTest
import DarkroomTensor

/// Float32 convolutions checked against the exact result with a bound on their rounding error, so that a test
/// passes or fails by the arithmetic and not by one BLAS kernel's summation order.
///
/// The bounds are the usual componentwise ones (Higham, "Accuracy and Stability of Numerical Algorithms", §3.1): a
/// result reached through at most k roundings of sums and products of terms t_i is within γ_k·Σ|t_i| of the exact
/// value, γ_k = k·u / (1 − k·u), u = 2⁻²⁴. For direct convolution the terms are the 9·Ci products x·w; for Winograd
/// F(m×m, 3×3) they are the products of the transforms taken in absolute value, |Aᵀ|((|G||g||Gᵀ|) ⊙ (|Bᵀ||d||B|))|A|,
/// which is where its larger error comes from (the transforms scale by up to 8 and 1/24).
public enum ConvolutionErrorBound {
    /// Winograd F(m×m, 3×3)'s matrices: input transform Bᵀ (n×n), weight transform G (n×3), output transform Aᵀ (m×n).
    public struct Winograd: Sendable {
        public let m: Int, n: Int
        let bt: [[Double]], g: [[Double]], at: [[Double]]

        /// F(2×2, 3×3), points 0, ±1, ∞.
        public static let f2x2 = Winograd(m: 2, n: 4,
            bt: [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
            g: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
            at: [[1, 1, 1, 0], [0, 1, -1, -1]])
        /// F(4×4, 3×3), points 0, ±1, ±2, ∞ (Lavin & Gray).
        public static let f4x4 = Winograd(m: 4, n: 6,
            bt: [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
            g: [[1.0 / 4, 0, 0], [-1.0 / 6, -1.0 / 6, -1.0 / 6], [-1.0 / 6, 1.0 / 6, -1.0 / 6], [1.0 / 24, 1.0 / 12, 1.0 / 6], [1.0 / 24, -1.0 / 12, 1.0 / 6], [0, 0, 1]],
            at: [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]])

        /// Roundings on the way to one output for `inputs` channels: two passes of n-term sums for the input
        /// transform, two of 3-term sums and a division for the weight's, the product, the sum over channels, two
        /// passes of n-term sums for the output transform, and the bias.
        func roundings(inputs: Int) -> Int { 2 * n + 8 + 1 + inputs + 2 * n + 1 }
    }

    static let unitRoundoff = 1.0 / Double(1 << 24)
    static func gamma(_ k: Int) -> Double { Double(k) * unitRoundoff / (1 - Double(k) * unitRoundoff) }

    /// The exact 3×3, stride-1, padding-1 convolution of `x` [B,Ci,H,W] with `weight` [Co,Ci,3,3] (in Double), and
    /// Σ|x·w| over each output's terms.
    public static func exact(_ x: Tensor, weight: Tensor, bias: Tensor?) -> (values: [Double], absoluteSum: [Double]) {
        let (b, ci, h, w, co) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], weight.shape[0])
        var values = [Double](repeating: 0, count: b * co * h * w), sums = values
        let xp = x.pointer, wp = weight.pointer
        for n in 0..<b {
            for o in 0..<co {
                for y in 0..<h {
                    for xx in 0..<w {
                        var v = Double(bias?.pointer[o] ?? 0), s = abs(v)
                        for c in 0..<ci {
                            for ky in 0..<3 {
                                let iy = y + ky - 1
                                guard iy >= 0, iy < h else { continue }
                                for kx in 0..<3 {
                                    let ix = xx + kx - 1
                                    guard ix >= 0, ix < w else { continue }
                                    let p = Double(xp[((n * ci + c) * h + iy) * w + ix]) * Double(wp[((o * ci + c) * 3 + ky) * 3 + kx])
                                    v += p
                                    s += abs(p)
                                }
                            }
                        }
                        values[((n * co + o) * h + y) * w + xx] = v
                        sums[((n * co + o) * h + y) * w + xx] = s
                    }
                }
            }
        }
        return (values, sums)
    }

    /// The bound on |computed − exact| of each output of Winograd `algorithm` for this convolution.
    public static func winograd(_ algorithm: Winograd, _ x: Tensor, weight: Tensor, bias: Tensor?) -> [Double] {
        let (b, ci, h, w, co) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], weight.shape[0])
        let (m, n) = (algorithm.m, algorithm.n)
        let bt = algorithm.bt.map { $0.map(abs) }, g = algorithm.g.map { $0.map(abs) }, at = algorithm.at.map { $0.map(abs) }
        func sandwich(_ left: [[Double]], _ middle: [[Double]]) -> [[Double]] {   // left · middle · leftᵀ
            let rows = left.count, inner = middle.count, cols = middle[0].count
            let lm = (0..<rows).map { r in (0..<cols).map { c in (0..<inner).reduce(0) { $0 + left[r][$1] * middle[$1][c] } } }
            return (0..<rows).map { r in (0..<rows).map { c in (0..<cols).reduce(0) { $0 + lm[r][$1] * left[c][$1] } } }
        }
        // |G||g||Gᵀ| per (co, ci), flattened n·n.
        let u: [[Double]] = (0..<(co * ci)).map { pair in
            let kernel = (0..<3).map { r in (0..<3).map { c in Double(abs(weight.pointer[pair * 9 + r * 3 + c])) } }
            return sandwich(g, kernel).flatMap { $0 }
        }
        let tilesY = (h + m - 1) / m, tilesX = (w + m - 1) / m
        let gamma = Self.gamma(algorithm.roundings(inputs: ci))
        var bound = [Double](repeating: 0, count: b * co * h * w)
        for s in 0..<b {
            for ty in 0..<tilesY {
                for tx in 0..<tilesX {
                    // |Bᵀ||d||B| per input channel for this tile (n×n input from (ty·m − 1, tx·m − 1), zero outside).
                    let v: [[Double]] = (0..<ci).map { c in
                        let d = (0..<n).map { r in (0..<n).map { q -> Double in
                            let iy = ty * m - 1 + r, ix = tx * m - 1 + q
                            guard iy >= 0, iy < h, ix >= 0, ix < w else { return 0 }
                            return Double(abs(x.pointer[((s * ci + c) * h + iy) * w + ix]))
                        } }
                        return sandwich(bt, d).flatMap { $0 }
                    }
                    for o in 0..<co {
                        var product = [Double](repeating: 0, count: n * n)
                        for c in 0..<ci {
                            let uo = u[o * ci + c], vc = v[c]
                            for e in 0..<(n * n) { product[e] += uo[e] * vc[e] }
                        }
                        let out = sandwich(at, (0..<n).map { r in Array(product[(r * n)..<(r * n + n)]) })
                        let biasTerm = abs(Double(bias?.pointer[o] ?? 0))
                        for r in 0..<m where ty * m + r < h {
                            for q in 0..<m where tx * m + q < w {
                                bound[((s * co + o) * h + ty * m + r) * w + tx * m + q] = gamma * (out[r][q] + biasTerm)
                            }
                        }
                    }
                }
            }
        }
        return bound
    }

    /// The bound on |computed − exact| of each output of a direct (im2col + GEMM) convolution: γ_{9·Ci+1}·Σ|x·w|.
    public static func direct(absoluteSum: [Double], inputs ci: Int) -> [Double] {
        let gamma = Self.gamma(9 * ci + 1)
        return absoluteSum.map { gamma * $0 }
    }

    /// Fails where `actual` is farther from `exact` than `bound` allows; returns the largest |Δ| / bound.
    @discardableResult
    public static func assertWithin(_ actual: Tensor, exact: [Double], bound: [Double], _ message: String,
                                    file: StaticString = #filePath, line: UInt = #line) -> Double {
        XCTAssertEqual(actual.count, exact.count, "element count \(message)", file: file, line: line)
        var worst = 0.0, worstIndex = 0
        for i in 0..<min(actual.count, exact.count) {
            let ratio = abs(Double(actual.pointer[i]) - exact[i]) / max(bound[i], .leastNormalMagnitude)
            if !(ratio <= worst) { worst = ratio; worstIndex = i }
        }
        XCTAssertLessThanOrEqual(worst, 1, "element \(worstIndex): |Δ| \(abs(Double(actual.pointer[worstIndex]) - exact[worstIndex])) "
                                 + "over its rounding bound \(bound[worstIndex]) \(message)", file: file, line: line)
        return worst
    }
}
