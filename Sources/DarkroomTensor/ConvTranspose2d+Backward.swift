/// Gradients of `ConvTranspose2d.forward`.
extension ConvTranspose2d {
    /// Back-propagates `dy` [B,Co,Ho,Wo] through the transposed convolution of `x` [B,Ci,H,W] with `weight`
    /// [Ci,Co,kh,kw]; adds into `weightGrad` and `biasGrad`, and returns dL/dx.
    ///
    /// The transposed convolution is the adjoint of a convolution, so dL/dx is that convolution applied to dy:
    /// im2col(dy) [Co·kh·kw, H·W], then dx_b = W [Ci, Co·kh·kw] · im2col(dy_b) and dW += x_b · im2col(dy_b)ᵀ.
    public static func backward(
        _ dy: Tensor, x: Tensor, weight: Tensor, stride: Int, padding: Int,
        weightGrad: Tensor, biasGrad: Tensor?
    ) throws -> Tensor {
        let (batch, ci, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (co, kh, kw) = (weight.shape[1], weight.shape[2], weight.shape[3])
        let ho = outputSize(h, kernel: kh, stride: stride, padding: padding)
        let wo = outputSize(w, kernel: kw, stride: stride, padding: padding)
        guard dy.shape == [batch, co, ho, wo], weightGrad.shape == weight.shape else {
            throw TensorError.shapeMismatch("conv_transpose2d backward dy \(dy.shape) for x \(x.shape), weight \(weight.shape)")
        }
        let inPlane = h * w, rows = co * kh * kw
        let dx = Tensor(uninitialized: x.shape)
        let group = max(1, min(batch, (4 << 20) / max(rows * inPlane, 1)))
        let cols = TensorStorage(uninitializedCount: rows * inPlane * group)
        let xs = TensorStorage(uninitializedCount: ci * inPlane * group)
        let dxs = TensorStorage(uninitializedCount: ci * inPlane * group)
        var start = 0
        while start < batch {
            let n = min(group, batch - start)
            let ld = n * inPlane
            for s in 0..<n {
                Conv2d.im2col(dy.pointer + (start + s) * co * ho * wo, channels: co, height: ho, width: wo, kh: kh, kw: kw,
                              stride: stride, padding: padding, ho: h, wo: w, cols: cols.pointer + s * inPlane, ld: ld)
                for c in 0..<ci {
                    (xs.pointer + c * ld + s * inPlane).update(from: x.pointer + ((start + s) * ci + c) * inPlane, count: inPlane)
                }
            }
            // dx_g [Ci, n·HW] = W [Ci, rows] · cols;  dW [Ci, rows] += x_g [Ci, n·HW] · colsᵀ
            sgemm(m: ci, n: ld, k: rows, a: weight.pointer, b: cols.pointer, c: dxs.pointer)
            sgemm(transposeB: true, m: ci, n: rows, k: ld, a: xs.pointer, b: cols.pointer, beta: 1, c: weightGrad.pointer)
            for s in 0..<n {
                for c in 0..<ci {
                    (dx.pointer + ((start + s) * ci + c) * inPlane).update(from: dxs.pointer + c * ld + s * inPlane, count: inPlane)
                }
            }
            start += n
        }
        if let biasGrad { try Reduction.addChannelSums(dy, into: biasGrad) }
        return dx
    }
}
