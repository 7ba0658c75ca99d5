/// Transposed 2-D convolution over NCHW tensors, as PyTorch's `ConvTranspose2d` (no groups, no output padding).
public enum ConvTranspose2d {
    /// Output extent of one spatial dimension: (input − 1)·stride − 2·padding + kernel.
    @inlinable
    public static func outputSize(_ input: Int, kernel: Int, stride: Int, padding: Int) -> Int {
        (input - 1) * stride - 2 * padding + kernel
    }

    /// Applies `weight` [Ci,Co,kh,kw] (PyTorch's transposed layout) and `bias` [Co] to `x` [B,Ci,H,W].
    ///
    /// One GEMM per group of samples computes every kernel tap's contribution (Wᵀ·X), then col2im adds the taps
    /// into the output.
    public static func forward(
        _ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0
    ) throws -> Tensor {
        guard x.rank == 4, weight.rank == 4, x.shape[1] == weight.shape[0] else {
            throw TensorError.shapeMismatch("conv_transpose2d input \(x.shape) with weight \(weight.shape)")
        }
        let (batch, ci, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (co, kh, kw) = (weight.shape[1], weight.shape[2], weight.shape[3])
        if let bias, bias.count != co {
            throw TensorError.shapeMismatch("conv_transpose2d bias \(bias.shape) for \(co) output channels")
        }
        let ho = outputSize(h, kernel: kh, stride: stride, padding: padding)
        let wo = outputSize(w, kernel: kw, stride: stride, padding: padding)
        guard ho > 0, wo > 0 else { throw TensorError.shapeMismatch("conv_transpose2d output would be empty") }
        let out = Tensor(uninitialized: [batch, co, ho, wo])
        let inPlane = h * w, outPlane = ho * wo
        let rows = co * kh * kw

        let group = max(1, min(batch, (4 << 20) / max(rows * inPlane, ci * inPlane, 1)))
        let cols = TensorStorage(uninitializedCount: rows * inPlane * group)
        let gathered = group > 1 ? TensorStorage(uninitializedCount: ci * inPlane * group) : nil
        var start = 0
        while start < batch {
            let n = min(group, batch - start)
            let ldb = n * inPlane
            let xs: UnsafePointer<Float>
            if n == 1 {
                xs = UnsafePointer(x.pointer + start * ci * inPlane)
            } else {
                // [n, Ci, HW] → [Ci, n·HW]
                let g = gathered!.pointer
                for s in 0..<n {
                    for c in 0..<ci {
                        (g + c * ldb + s * inPlane).update(from: x.pointer + ((start + s) * ci + c) * inPlane, count: inPlane)
                    }
                }
                xs = UnsafePointer(g)
            }
            sgemm(transposeA: true, m: rows, n: ldb, k: ci, a: weight.pointer, b: xs, c: cols.pointer)
            for s in 0..<n {
                for o in 0..<co {
                    (out.pointer + ((start + s) * co + o) * outPlane).update(repeating: bias?.pointer[o] ?? 0, count: outPlane)
                }
                // The taps of sample s fold into the output like conv2d's col2im from the ho×wo image to the h×w grid.
                Conv2d.col2im(cols.pointer + s * inPlane, ld: ldb, channels: co, height: ho, width: wo,
                              kh: kh, kw: kw, stride: stride, padding: padding, ho: h, wo: w,
                              into: out.pointer + (start + s) * co * outPlane)
            }
            start += n
        }
        return out
    }
}
