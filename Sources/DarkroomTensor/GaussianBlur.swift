import Foundation

/// Separable Gaussian blur of NCHW images, as torchvision's `gaussian_blur` (reflect padding).
public enum GaussianBlur {
    /// The normalised 1-D kernel: exp(−x²/2σ²) at x = −(k−1)/2 … (k−1)/2.
    public static func kernel(size: Int, sigma: Float) -> [Float] {
        let half = Float(size - 1) / 2
        let raw = (0..<size).map { i -> Float in
            let x = Float(i) - half
            return expf(-0.5 * (x / sigma) * (x / sigma))
        }
        let sum = raw.reduce(0, +)
        return raw.map { $0 / sum }
    }

    /// Blurs every channel of `x` [B,C,H,W] with a `size`×`size` Gaussian of standard deviation `sigma`.
    public static func apply(_ x: Tensor, size: Int, sigma: Float) throws -> Tensor {
        guard x.rank == 4, size > 0, size % 2 == 1, sigma > 0 else {
            throw TensorError.shapeMismatch("gaussian blur needs NCHW input, an odd kernel size and σ > 0 (got \(x.shape), \(size), \(sigma))")
        }
        let (b, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let k = kernel(size: size, sigma: sigma)
        let r = size / 2
        // Reflected source index for every padded position, computed once.
        let rowIndex = (0..<(h + 2 * r)).map { reflect($0 - r, h) }
        let colIndex = (0..<(w + 2 * r)).map { reflect($0 - r, w) }
        let out = Tensor(uninitialized: x.shape)
        let src = x.pointer, dst = out.pointer
        k.withUnsafeBufferPointer { kp in
            rowIndex.withUnsafeBufferPointer { ri in
                colIndex.withUnsafeBufferPointer { ci in
                    parallelRanges(b * c, minimumChunk: max(1, 4096 / (h * w))) { range in
                        let tmp = UnsafeMutablePointer<Float>.allocate(capacity: h * w)
                        defer { tmp.deallocate() }
                        for plane in range {
                            let from = src + plane * h * w, to = dst + plane * h * w
                            for y in 0..<h {
                                let line = from + y * w
                                for xx in 0..<w {
                                    var s: Float = 0
                                    for j in 0..<size { s += kp[j] * line[ci[xx + j]] }
                                    tmp[y * w + xx] = s
                                }
                            }
                            for y in 0..<h {
                                for xx in 0..<w {
                                    var s: Float = 0
                                    for j in 0..<size { s += kp[j] * tmp[ri[y + j] * w + xx] }
                                    to[y * w + xx] = s
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Mirror index without repeating the edge (numpy/PyTorch "reflect"), folded for any distance.
    static func reflect(_ i: Int, _ n: Int) -> Int {
        if n == 1 { return 0 }
        let period = 2 * (n - 1)
        var m = i % period
        if m < 0 { m += period }
        return m < n ? m : period - m
    }
}
