/// Gradients of `Conv2d.forward`.
extension Conv2d {
    /// Back-propagates `dy` [B,Co,Ho,Wo] through the convolution of `x` with `weight`.
    ///
    /// Adds dL/dW into `weightGrad` [Co,Ci,kh,kw] and dL/db into `biasGrad` [Co] (when given), and returns dL/dx
    /// (nil when `inputGrad` is false, for a first layer). Columns are recomputed per sample instead of stored.
    public static func backward(
        _ dy: Tensor, x: Tensor, weight: Tensor, stride: Int, padding: Int,
        weightGrad: Tensor, biasGrad: Tensor?, inputGrad: Bool = true
    ) throws -> Tensor? {
        let (batch, ci, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (co, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3])
        let ho = outputSize(h, kernel: kh, stride: stride, padding: padding)
        let wo = outputSize(w, kernel: kw, stride: stride, padding: padding)
        guard dy.shape == [batch, co, ho, wo], weightGrad.shape == weight.shape else {
            throw TensorError.shapeMismatch("conv2d backward dy \(dy.shape) for x \(x.shape), weight \(weight.shape)")
        }
        let plane = ho * wo, kdim = ci * kh * kw
        let dx = inputGrad ? Tensor(zeros: x.shape) : nil
        let cols = TensorStorage(uninitializedCount: kdim * plane)
        let dcols = inputGrad ? TensorStorage(uninitializedCount: kdim * plane) : nil
        let pointwise = kh == 1 && kw == 1 && stride == 1 && padding == 0
        for b in 0..<batch {
            let xb = x.pointer + b * ci * h * w
            let dyb = dy.pointer + b * co * plane
            let colsB: UnsafePointer<Float>
            if pointwise {
                colsB = UnsafePointer(xb)
            } else {
                im2col(xb, channels: ci, height: h, width: w, kh: kh, kw: kw, stride: stride, padding: padding,
                       ho: ho, wo: wo, cols: cols.pointer, ld: plane)
                colsB = UnsafePointer(cols.pointer)
            }
            // dW [Co,K] += dy_b [Co,P] · cols_bᵀ [P,K]
            sgemm(transposeB: true, m: co, n: kdim, k: plane, a: dyb, b: colsB, beta: 1, c: weightGrad.pointer)
            if let dx, let dcols {
                let dxb = dx.pointer + b * ci * h * w
                if pointwise {
                    sgemm(transposeA: true, m: ci, n: plane, k: co, a: weight.pointer, b: dyb, c: dxb)
                } else {
                    // dcols [K,P] = Wᵀ [K,Co] · dy_b [Co,P], folded back into dx_b.
                    sgemm(transposeA: true, m: kdim, n: plane, k: co, a: weight.pointer, b: dyb, c: dcols.pointer)
                    col2im(dcols.pointer, ld: plane, channels: ci, height: h, width: w, kh: kh, kw: kw,
                           stride: stride, padding: padding, ho: ho, wo: wo, into: dxb)
                }
            }
        }
        if let biasGrad { try Reduction.addChannelSums(dy, into: biasGrad) }
        return dx
    }
}
