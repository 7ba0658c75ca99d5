import DarkroomTensor
import DarkroomJobModel

/// The views as tensor operations.
extension ImageView {
    /// Applies the view to every image of `x` [B,C,H,W] (square images for the rotations).
    public func apply(_ x: Tensor) -> Tensor {
        let (planes, h, w) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
        let out = Tensor(uninitialized: x.shape)
        let src = x.pointer, dst = out.pointer
        for p in 0..<planes {
            let s = src + p * h * w, d = dst + p * h * w
            for y in 0..<h {
                for xx in 0..<w {
                    let v = s[y * w + xx]
                    switch self {
                    case .identity: d[y * w + xx] = v
                    case .negate: d[y * w + xx] = -v
                    case .flip: d[(h - 1 - y) * w + xx] = v
                    case .rotate180: d[(h - 1 - y) * w + (w - 1 - xx)] = v
                    // 90° counter-clockwise: (y, x) → (w−1−x, y)
                    case .rotate90: d[(w - 1 - xx) * h + y] = v
                    // 90° clockwise: (y, x) → (x, h−1−y)
                    case .rotate270: d[xx * h + (h - 1 - y)] = v
                    }
                }
            }
        }
        return out
    }
}
