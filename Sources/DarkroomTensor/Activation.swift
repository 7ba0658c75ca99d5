import Foundation

/// Pointwise activation functions, applied in place or into a new tensor.
public enum Activation {
    /// GELU in its exact (erf) form: x·Φ(x) = ½·x·(1 + erf(x/√2)), as PyTorch's default.
    ///
    /// erf is a branch-free rational approximation that the compiler vectorises (see `erf(_:)`).
    public static func geluInPlace(_ x: Tensor) {
        let p = x.pointer
        parallelRanges(x.count) { range in
            SIMDMath.map(p + range.lowerBound, count: range.count, { v, _ in gelu8(v) }, { v, _ in
                0.5 * v * (1 + erf(v * 0.70710678118654752))
            })
        }
    }

    /// x[b,c,...] ← GELU(x[b,c,...] + bias[c]): a convolution's bias and activation in one pass.
    public static func biasGELUInPlace(_ x: Tensor, bias: Tensor) throws {
        guard x.rank >= 2, bias.count == x.shape[1] else {
            throw TensorError.shapeMismatch("bias \(bias.shape) for \(x.shape)")
        }
        let channels = x.shape[1]
        let plane = x.count / max(x.shape[0] * channels, 1)
        let p = x.pointer, bp = bias.pointer
        parallelRanges(x.shape[0] * channels, minimumChunk: max(1, 16_384 / max(plane, 1))) { range in
            for row in range {
                let b = bp[row % channels]
                let r = p + row * plane
                var i = 0
                while i + 8 <= plane {
                    let v = UnsafeRawPointer(r + i).loadUnaligned(as: SIMD8<Float>.self) + b
                    UnsafeMutableRawPointer(r + i).storeBytes(of: gelu8(v), as: SIMD8<Float>.self)
                    i += 8
                }
                while i < plane {
                    let v = r[i] + b
                    r[i] = 0.5 * v * (1 + erf(v * 0.70710678118654752))
                    i += 1
                }
            }
        }
    }

    /// GELU of eight lanes with the same rational erf as `erf(_:)`.
    @inlinable @inline(__always)
    static func gelu8(_ v: SIMD8<Float>) -> SIMD8<Float> {
        0.5 * v * (1 + SIMDMath.erf(v * 0.70710678118654752))
    }

    /// erf(x) by the rational approximation of `SIMDMath.erf` (x·P(x²)/Q(x²) on |x| ≤ 4, clamped beyond; largest
    /// absolute error 3.8e−7 in Float32; coefficients fitted by scripts/reference/fit_erf.py), one value at a time.
    @inlinable @inline(__always)
    public static func erf(_ x: Float) -> Float { SIMDMath.erf(SIMD8(repeating: x))[0] }

    /// e^x of eight lanes (relative error below 2e−7 on [−87, 88]; clamped outside).
    @inlinable @inline(__always)
    public static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> { SIMDMath.exp(x) }

    /// SiLU (swish): x·σ(x).
    public static func siluInPlace(_ x: Tensor) {
        let p = x.pointer
        parallelRanges(x.count) { range in
            for i in range {
                let v = p[i]
                p[i] = v / (1 + expf(-v))
            }
        }
    }

    /// GELU of `x` as a new tensor.
    public static func gelu(_ x: Tensor) -> Tensor {
        let out = x.copy()
        geluInPlace(out)
        return out
    }

    /// SiLU of `x` as a new tensor.
    public static func silu(_ x: Tensor) -> Tensor {
        let out = x.copy()
        siluInPlace(out)
        return out
    }
}
