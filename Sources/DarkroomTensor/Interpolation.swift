import Foundation

/// Resizing of [B,C,H,W] tensors by interpolation, as PyTorch's `F.interpolate` computes it.
public enum Interpolation {
    /// Bilinear resize with `align_corners=True`: output pixel (y, x) samples the input at (y·(h−1)/(H−1),
    /// x·(w−1)/(W−1)), so corners map to corners. Used to upscale a stage I image for stage II.
    public static func bilinearAlignCorners(_ x: Tensor, height: Int, width: Int) throws -> Tensor {
        guard x.rank == 4, height > 0, width > 0 else { throw TensorError.shapeMismatch("bilinear resize of \(x.shape) to \(height)x\(width)") }
        let (b, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        // PyTorch's source index: scale·dst in float, with scale = (in − 1)/(out − 1) (0 for a one-pixel output).
        func taps(_ input: Int, _ output: Int) -> [(Int, Int, Float)] {
            let scale: Float = output > 1 ? Float(input - 1) / Float(output - 1) : 0
            return (0..<output).map { i in
                let src = scale * Float(i)
                let i0 = min(Int(src), input - 1)
                let i1 = i0 < input - 1 ? i0 + 1 : i0
                return (i0, i1, src - Float(i0))
            }
        }
        let rows = taps(h, height), cols = taps(w, width)
        let out = Tensor(uninitialized: [b, c, height, width])
        let src = x.pointer, dst = out.pointer
        parallelRanges(b * c) { range in
            for plane in range {
                let from = src + plane * h * w, to = dst + plane * height * width
                for (y, (y0, y1, ly)) in rows.enumerated() {
                    let top = from + y0 * w, bottom = from + y1 * w, line = to + y * width
                    for (xx, (x0, x1, lx)) in cols.enumerated() {
                        let upper = (1 - lx) * top[x0] + lx * top[x1]
                        let lower = (1 - lx) * bottom[x0] + lx * bottom[x1]
                        line[xx] = (1 - ly) * upper + ly * lower
                    }
                }
            }
        }
        return out
    }
}
