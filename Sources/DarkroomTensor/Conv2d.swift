/// 2-D convolution over NCHW tensors, as PyTorch's `Conv2d` (no groups, no dilation).
public enum Conv2d {
    /// Output extent of one spatial dimension.
    @inlinable
    public static func outputSize(_ input: Int, kernel: Int, stride: Int, padding: Int) -> Int {
        (input + 2 * padding - kernel) / stride + 1
    }

    /// Convolves `x` [B,Ci,H,W] with `weight` [Co,Ci,kh,kw] plus `bias` [Co].
    ///
    /// A 1×1 kernel with stride 1 and no padding multiplies straight through GEMM; a 3×3 kernel with stride 1 and
    /// padding 1 runs by oneDNN or by Darkroom's own kernel (directly, `DirectConv3x3`, at most 256 channels where the
    /// CPU has AVX-512, else im2col), whichever measured fastest for its shape (`ConvolutionChoice`); every other shape
    /// goes through im2col, gathering several samples into one wide GEMM while the column buffer stays small.
    public static func forward(
        _ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0
    ) throws -> Tensor {
        if isSame3x3(x, weight: weight, stride: stride, padding: padding) {
            return try forward3x3(x, weight: WeightTensor(weight), bias: bias,
                                  ownKernel: ownKernel3x3(inputs: weight.shape[1], outputs: weight.shape[0])) {
                try ownForward3x3(x, weight: weight, bias: bias)
            }
        }
        return try forwardByColumns(x, weight: weight, bias: bias, stride: stride, padding: padding)
    }

    /// Whether `forward` and `backward` take the direct kernels for this layer: 3×3, stride 1, padding 1, widths the
    /// direct kernel suits, on a CPU that has it.
    static func runsDirectly(_ x: Tensor, weight: Tensor, stride: Int, padding: Int) -> Bool {
        isSame3x3(x, weight: weight, stride: stride, padding: padding) && DirectConv3x3.suits(inputs: weight.shape[1], outputs: weight.shape[0])
    }

    /// `forward` through GEMM (1×1 kernels) or im2col columns, whatever the shape: what the direct kernel does not take.
    public static func forwardByColumns(
        _ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0
    ) throws -> Tensor {
        guard x.rank == 4, weight.rank == 4, x.shape[1] == weight.shape[1] else {
            throw TensorError.shapeMismatch("conv2d input \(x.shape) with weight \(weight.shape)")
        }
        if let bias, bias.count != weight.shape[0] {
            throw TensorError.shapeMismatch("conv2d bias \(bias.shape) for \(weight.shape[0]) output channels")
        }
        let (batch, ci, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (co, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3])
        let ho = outputSize(h, kernel: kh, stride: stride, padding: padding)
        let wo = outputSize(w, kernel: kw, stride: stride, padding: padding)
        guard ho > 0, wo > 0 else {
            throw TensorError.shapeMismatch("conv2d kernel \(kh)x\(kw) larger than padded input \(h)x\(w)")
        }
        let out = Tensor(uninitialized: [batch, co, ho, wo])
        let plane = ho * wo
        let kdim = ci * kh * kw

        if kh == 1, kw == 1, stride == 1, padding == 0 {
            for b in 0..<batch {
                let dst = out.pointer + b * co * plane
                fillBias(dst, bias: bias, channels: co, plane: plane)
                sgemm(m: co, n: plane, k: ci, a: weight.pointer, b: x.pointer + b * ci * h * w,
                      beta: bias == nil ? 0 : 1, c: dst)
            }
            return out
        }

        // Samples per GEMM: one when the image is large enough for an efficient GEMM on its own (the result then
        // lands in place), otherwise as many as fit a ~16 MB column buffer.
        let perSample = kdim * plane
        let group = plane >= 256 ? 1 : max(1, min(batch, (4 << 20) / max(perSample, 1)))
        let cols = TensorStorage(uninitializedCount: perSample * group)
        let wide = group > 1 ? TensorStorage(uninitializedCount: co * plane * group) : nil
        var start = 0
        while start < batch {
            let n = min(group, batch - start)
            let ldc = n * plane
            for s in 0..<n {
                im2col(x.pointer + (start + s) * ci * h * w, channels: ci, height: h, width: w,
                       kh: kh, kw: kw, stride: stride, padding: padding, ho: ho, wo: wo,
                       cols: cols.pointer + s * plane, ld: ldc)
            }
            if n == 1 {
                let dst = out.pointer + start * co * plane
                fillBias(dst, bias: bias, channels: co, plane: plane)
                sgemm(m: co, n: plane, k: kdim, a: weight.pointer, b: cols.pointer, beta: bias == nil ? 0 : 1, c: dst)
            } else {
                let tmp = wide!.pointer
                sgemm(m: co, n: ldc, k: kdim, a: weight.pointer, b: cols.pointer, c: tmp)
                // [Co, n·plane] → [n, Co, plane], adding the bias on the way.
                let bp = bias?.pointer
                parallelRanges(n * co, minimumChunk: max(1, 8192 / plane)) { range in
                    for idx in range {
                        let s = idx / co, o = idx % co
                        let src = tmp + o * ldc + s * plane
                        let dst = out.pointer + (start + s) * co * plane + o * plane
                        let bv = bp?[o] ?? 0
                        for i in 0..<plane { dst[i] = src[i] + bv }
                    }
                }
            }
            start += n
        }
        return out
    }

    @inlinable
    static func fillBias(_ dst: UnsafeMutablePointer<Float>, bias: Tensor?, channels: Int, plane: Int) {
        guard let bias else { return }
        for o in 0..<channels { (dst + o * plane).update(repeating: bias.pointer[o], count: plane) }
    }

    /// Unfolds one image [C,H,W] into columns [C·kh·kw, ho·wo] with row stride `ld`.
    @inlinable
    static func im2col(
        _ src: UnsafePointer<Float>, channels: Int, height h: Int, width w: Int,
        kh: Int, kw: Int, stride: Int, padding: Int, ho: Int, wo: Int,
        cols: UnsafeMutablePointer<Float>, ld: Int
    ) {
        let rows = channels * kh * kw
        parallelRanges(rows, minimumChunk: max(1, 16_384 / max(ho * wo, 1))) { range in
            for row in range {
                let c = row / (kh * kw)
                let ki = (row / kw) % kh
                let kj = row % kw
                let dst = cols + row * ld
                let plane = src + c * h * w
                for oy in 0..<ho {
                    let iy = oy * stride - padding + ki
                    let line = dst + oy * wo
                    if iy < 0 || iy >= h {
                        line.update(repeating: 0, count: wo)
                        continue
                    }
                    let srcLine = plane + iy * w
                    if stride == 1 {
                        // ix = ox - padding + kj, valid for ox in [lo, hi)
                        let shift = kj - padding
                        let lo = min(wo, max(0, -shift))
                        let hi = max(lo, min(wo, w - shift))
                        if lo > 0 { line.update(repeating: 0, count: lo) }
                        if hi > lo { (line + lo).update(from: srcLine + lo + shift, count: hi - lo) }
                        if hi < wo { (line + hi).update(repeating: 0, count: wo - hi) }
                    } else {
                        // ix = ox·stride + shift is inside the row for ox in [lo, hi).
                        let shift = kj - padding
                        let lo = min(wo, max(0, (-shift + stride - 1) / stride))
                        let hi = max(lo, min(wo, (w - shift + stride - 1) / stride))
                        for ox in 0..<lo { line[ox] = 0 }
                        let from = srcLine + shift
                        for ox in lo..<hi { line[ox] = from[ox &* stride] }
                        for ox in hi..<wo { line[ox] = 0 }
                    }
                }
            }
        }
    }
}
