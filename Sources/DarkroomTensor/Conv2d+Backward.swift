/// Gradients of `Conv2d.forward`.
extension Conv2d {
    /// Back-propagates `dy` [B,Co,Ho,Wo] through the convolution of `x` with `weight`.
    ///
    /// Adds dL/dW into `weightGrad` [Co,Ci,kh,kw] and dL/db into `biasGrad` [Co] (when given), and returns dL/dx
    /// (nil when `inputGrad` is false, for a first layer). 3×3 stride-1 layers get each gradient from oneDNN or the
    /// direct kernels, whichever measured fastest (`backward3x3`); the others go through columns (`backwardByColumns`).
    public static func backward(
        _ dy: Tensor, x: Tensor, weight: Tensor, stride: Int, padding: Int,
        weightGrad: Tensor, biasGrad: Tensor?, inputGrad: Bool = true
    ) throws -> Tensor? {
        // A direct 3×3 layer needs no columns: its input gradient is itself a direct convolution (of dy with the
        // flipped kernel) and its weight gradient a direct correlation of dy with x.
        if isSame3x3(x, weight: weight, stride: stride, padding: padding) {
            return try backward3x3(dy, x: x, weight: weight, weightGrad: weightGrad, biasGrad: biasGrad, inputGrad: inputGrad,
                                   direct: runsDirectly(x, weight: weight, stride: stride, padding: padding))
        }
        return try backwardByColumns(dy, x: x, weight: weight, stride: stride, padding: padding, weightGrad: weightGrad,
                                     biasGrad: biasGrad, inputGrad: inputGrad)
    }

    /// `backward` through im2col columns and GEMM, for any shape. Samples are processed in groups whose columns fit a
    /// ~16 MB buffer, so each group costs two wide GEMMs: dW += dy_g·cols_gᵀ and dcols_g = Wᵀ·dy_g. Columns are
    /// recomputed rather than kept from the forward pass.
    public static func backwardByColumns(
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
        let group = max(1, min(batch, (4 << 20) / max(kdim * plane, 1)))
        let cols = TensorStorage(uninitializedCount: kdim * plane * group)
        let dcols = inputGrad ? TensorStorage(uninitializedCount: kdim * plane * group) : nil
        let gathered = TensorStorage(uninitializedCount: co * plane * group)
        var start = 0
        while start < batch {
            let n = min(group, batch - start)
            let ld = n * plane
            // dy_g [Co, n·P]
            for s in 0..<n {
                for o in 0..<co {
                    (gathered.pointer + o * ld + s * plane).update(from: dy.pointer + ((start + s) * co + o) * plane, count: plane)
                }
                im2col(x.pointer + (start + s) * ci * h * w, channels: ci, height: h, width: w, kh: kh, kw: kw,
                       stride: stride, padding: padding, ho: ho, wo: wo, cols: cols.pointer + s * plane, ld: ld)
            }
            sgemm(transposeB: true, m: co, n: kdim, k: ld, a: gathered.pointer, b: cols.pointer, beta: 1, c: weightGrad.pointer)
            if let dx, let dcols {
                sgemm(transposeA: true, m: kdim, n: ld, k: co, a: weight.pointer, b: gathered.pointer, c: dcols.pointer)
                for s in 0..<n {
                    col2im(dcols.pointer + s * plane, ld: ld, channels: ci, height: h, width: w, kh: kh, kw: kw,
                           stride: stride, padding: padding, ho: ho, wo: wo, into: dx.pointer + (start + s) * ci * h * w)
                }
            }
            start += n
        }
        if let biasGrad { try Reduction.addChannelSums(dy, into: biasGrad) }
        return dx
    }
}
