/// Folds columns back into an image, adding overlapping taps: the adjoint of `Conv2d.im2col`.
extension Conv2d {
    /// Adds `cols` [C·kh·kw, ho·wo] (row stride `ld`) into the image `dst` [C,H,W].
    ///
    /// The geometry is that of a convolution from H×W to ho×wo; a transposed convolution uses it with the roles of
    /// the two grids swapped. Channels run in parallel: each owns its plane, so no two threads add to one element.
    public static func col2im(
        _ cols: UnsafePointer<Float>, ld: Int, channels: Int, height h: Int, width w: Int,
        kh: Int, kw: Int, stride: Int, padding: Int, ho: Int, wo: Int,
        into dst: UnsafeMutablePointer<Float>
    ) {
        parallelRanges(channels, minimumChunk: max(1, 8192 / max(kh * kw * ho * wo, 1))) { range in
            for c in range {
                let plane = dst + c * h * w
                for ki in 0..<kh {
                    for kj in 0..<kw {
                        let src = cols + ((c * kh + ki) * kw + kj) * ld
                        let shift = kj - padding
                        let lo = min(wo, max(0, (-shift + stride - 1) / stride))
                        let hi = max(lo, min(wo, (w - shift + stride - 1) / stride))
                        for oy in 0..<ho {
                            let iy = oy * stride - padding + ki
                            if iy < 0 || iy >= h { continue }
                            let line = plane + iy * w + shift
                            let from = src + oy * wo
                            if stride == 1 {
                                // Eight lanes at a time: the compiler cannot vectorise through possibly aliasing pointers.
                                var ox = lo
                                while ox + 8 <= hi {
                                    let sum = UnsafeRawPointer(line + ox).loadUnaligned(as: SIMD8<Float>.self)
                                        + UnsafeRawPointer(from + ox).loadUnaligned(as: SIMD8<Float>.self)
                                    UnsafeMutableRawPointer(line + ox).storeBytes(of: sum, as: SIMD8<Float>.self)
                                    ox += 8
                                }
                                while ox < hi { line[ox] += from[ox]; ox += 1 }
                            } else {
                                for ox in lo..<hi { line[ox &* stride] += from[ox] }
                            }
                        }
                    }
                }
            }
        }
    }
}
