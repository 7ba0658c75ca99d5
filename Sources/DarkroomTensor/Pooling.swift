/// Spatial resampling of NCHW tensors: average pooling and nearest-neighbour upsampling.
public enum Pooling {
    /// Average pooling with a square `kernel`, stride = kernel unless given, no padding (PyTorch's `AvgPool2d`).
    public static func averagePool(_ x: Tensor, kernel: Int, stride: Int? = nil) throws -> Tensor {
        let stride = stride ?? kernel
        guard x.rank == 4, kernel > 0, stride > 0, x.shape[2] >= kernel, x.shape[3] >= kernel else {
            throw TensorError.shapeMismatch("avg_pool2d kernel \(kernel) on \(x.shape)")
        }
        let (b, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let ho = (h - kernel) / stride + 1, wo = (w - kernel) / stride + 1
        let out = Tensor(uninitialized: [b, c, ho, wo])
        let inv = 1 / Float(kernel * kernel)
        let src = x.pointer, dst = out.pointer
        parallelRanges(b * c, minimumChunk: max(1, 16_384 / (h * w))) { range in
            for plane in range {
                let from = src + plane * h * w, to = dst + plane * ho * wo
                for oy in 0..<ho {
                    for ox in 0..<wo {
                        var sum: Float = 0
                        for ky in 0..<kernel {
                            let row = from + (oy * stride + ky) * w + ox * stride
                            for kx in 0..<kernel { sum += row[kx] }
                        }
                        to[oy * wo + ox] = sum * inv
                    }
                }
            }
        }
        return out
    }

    /// Nearest-neighbour upsampling by an integer `factor` (PyTorch's `interpolate(mode="nearest")`).
    public static func upsampleNearest(_ x: Tensor, factor: Int = 2) throws -> Tensor {
        guard x.rank == 4, factor > 0 else { throw TensorError.shapeMismatch("upsample of \(x.shape)") }
        let (b, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let ho = h * factor, wo = w * factor
        let out = Tensor(uninitialized: [b, c, ho, wo])
        let src = x.pointer, dst = out.pointer
        parallelRanges(b * c, minimumChunk: max(1, 16_384 / (ho * wo))) { range in
            for plane in range {
                let from = src + plane * h * w, to = dst + plane * ho * wo
                for y in 0..<h {
                    let line = to + y * factor * wo
                    for xx in 0..<w {
                        let v = from[y * w + xx]
                        for f in 0..<factor { line[xx * factor + f] = v }
                    }
                    for f in 1..<factor { (line + f * wo).update(from: line, count: wo) }
                }
            }
        }
        return out
    }
}
