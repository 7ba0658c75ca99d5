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
        let cols = TensorStorage(uninitializedCount: rows * inPlane)
        for b in 0..<batch {
            Conv2d.im2col(dy.pointer + b * co * ho * wo, channels: co, height: ho, width: wo, kh: kh, kw: kw,
                          stride: stride, padding: padding, ho: h, wo: w, cols: cols.pointer, ld: inPlane)
            let xb = x.pointer + b * ci * inPlane
            sgemm(m: ci, n: inPlane, k: rows, a: weight.pointer, b: cols.pointer, c: dx.pointer + b * ci * inPlane)
            sgemm(transposeB: true, m: ci, n: rows, k: inPlane, a: xb, b: cols.pointer, beta: 1, c: weightGrad.pointer)
        }
        if let biasGrad { try Reduction.addChannelSums(dy, into: biasGrad) }
        return dx
    }
}
