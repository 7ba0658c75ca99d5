import Foundation

/// Pointwise activation functions, applied in place or into a new tensor.
public enum Activation {
    /// GELU in its exact (erf) form: x·Φ(x) = ½·x·(1 + erf(x/√2)), as PyTorch's default.
    public static func geluInPlace(_ x: Tensor) {
        let p = x.pointer
        parallelRanges(x.count) { range in
            for i in range {
                let v = p[i]
                p[i] = 0.5 * v * (1 + erff(v * 0.70710678118654752))
            }
        }
    }

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
