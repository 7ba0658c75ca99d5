import DarkroomTensor

/// Fits images to a model: centre crop to a square, then area-averaging resampling (never plain subsampling).
public enum ImageResize {
    /// Crops `x` [1,C,H,W] to its centred square.
    public static func centerSquare(_ x: Tensor) -> Tensor {
        let (c, h, w) = (x.shape[1], x.shape[2], x.shape[3])
        let s = min(h, w)
        if h == w { return x }
        let (y0, x0) = ((h - s) / 2, (w - s) / 2)
        let out = Tensor(uninitialized: [1, c, s, s])
        for ch in 0..<c {
            for y in 0..<s {
                (out.pointer + (ch * s + y) * s).update(from: x.pointer + (ch * h + y0 + y) * w + x0, count: s)
            }
        }
        return out
    }

    /// Resamples `x` [1,C,H,W] to [1,C,size,size] by area averaging: each output pixel is the mean of the input
    /// area it covers, with fractional edge weights (enlarging becomes nearest-neighbour-like).
    public static func area(_ x: Tensor, size: Int) -> Tensor {
        let (c, h, w) = (x.shape[1], x.shape[2], x.shape[3])
        if h == size, w == size { return x }
        let wy = weights(from: h, to: size), wx = weights(from: w, to: size)
        let out = Tensor(zeros: [1, c, size, size])
        for ch in 0..<c {
            let src = x.pointer + ch * h * w, dst = out.pointer + ch * size * size
            for (oy, rows) in wy.enumerated() {
                for (ox, cols) in wx.enumerated() {
                    var sum: Float = 0
                    for (iy, fy) in rows {
                        for (ix, fx) in cols { sum += fy * fx * src[iy * w + ix] }
                    }
                    dst[oy * size + ox] = sum
                }
            }
        }
        return out
    }

    /// For each output index, the input indices it covers and their normalised weights.
    static func weights(from n: Int, to m: Int) -> [[(Int, Float)]] {
        let scale = Double(n) / Double(m)
        return (0..<m).map { o in
            let lo = Double(o) * scale, hi = Double(o + 1) * scale
            var list: [(Int, Float)] = []
            var i = Int(lo)
            while Double(i) < hi, i < n {
                let cover = min(hi, Double(i + 1)) - max(lo, Double(i))
                if cover > 1e-9 { list.append((i, Float(cover / scale))) }
                i += 1
            }
            return list
        }
    }

    /// Centre-crops, resizes and converts `x` to a model's input: [1, channels, size, size].
    public static func fit(_ x: Tensor, size: Int) -> Tensor { area(centerSquare(x), size: size) }

    /// Nearest-neighbour enlargement by an integer factor (for viewing small images).
    public static func enlarge(_ x: Tensor, factor: Int) -> Tensor {
        guard factor > 1 else { return x }
        return (try? Pooling.upsampleNearest(x, factor: factor)) ?? x
    }
}
