import Foundation

extension Normalization {
    /// What follows a group norm in the same pass over memory.
    public struct GroupNormEpilogue {
        /// Per-sample, per-channel FiLM: y ← y·(1 + scale[b,c]) + shift[b,c]; `scale` and `shift` point at rows of
        /// `stride` floats per sample (DeepFloyd IF's `time_emb_proj` output: scale first, then shift).
        public var scale: UnsafePointer<Float>?
        public var shift: UnsafePointer<Float>?
        public var stride: Int
        /// Apply the exact (erf) GELU last.
        public var gelu: Bool

        public init(scale: UnsafePointer<Float>? = nil, shift: UnsafePointer<Float>? = nil, stride: Int = 0, gelu: Bool) {
            self.scale = scale
            self.shift = shift
            self.stride = stride
            self.gelu = gelu
        }
    }

    /// Group norm of `x` [B,C,...] with affine weights, then an optional FiLM and GELU, written to `out` (which may
    /// be `x` itself): one read for the statistics and one read-write pass per element.
    public static func groupNorm(
        _ x: Tensor, into out: Tensor, groups: Int, weight: Tensor, bias: Tensor, epsilon: Float,
        epilogue: GroupNormEpilogue
    ) throws {
        guard x.rank >= 2, groups > 0, x.shape[1] % groups == 0, out.count == x.count,
              weight.count == x.shape[1], bias.count == x.shape[1] else {
            throw TensorError.shapeMismatch("group_norm input \(x.shape) with \(groups) groups and \(weight.count) weights")
        }
        let channels = x.shape[1]
        let plane = x.count / max(x.shape[0] * channels, 1)
        let perGroup = channels / groups
        let src = x.pointer, dst = out.pointer
        let wp = weight.pointer, bp = bias.pointer
        parallelRanges(x.shape[0] * groups, minimumChunk: max(1, 16_384 / max(plane * perGroup, 1))) { range in
            for idx in range {
                let b = idx / groups, g = idx % groups
                let base = idx * perGroup * plane
                let (mean, invStd) = meanInvStd(src + base, count: perGroup * plane, epsilon: epsilon)
                for cc in 0..<perGroup {
                    let c = g * perGroup + cc
                    var s = wp[c] * invStd
                    var t = bp[c] - mean * s
                    if let sc = epilogue.scale {
                        let k = 1 + sc[b * epilogue.stride + c]
                        s *= k
                        t *= k
                    }
                    if let sh = epilogue.shift { t += sh[b * epilogue.stride + c] }
                    affineRow(from: src + base + cc * plane, to: dst + base + cc * plane, count: plane,
                              scale: s, shift: t, gelu: epilogue.gelu)
                }
            }
        }
    }

    /// to[i] = from[i]·scale + shift, then GELU when asked; eight lanes at a time.
    @inlinable @inline(__always)
    static func affineRow(from: UnsafePointer<Float>, to: UnsafeMutablePointer<Float>, count: Int,
                          scale: Float, shift: Float, gelu: Bool) {
        var i = 0
        let s8 = SIMD8<Float>(repeating: scale), t8 = SIMD8<Float>(repeating: shift)
        while i + 8 <= count {
            var v = UnsafeRawPointer(from + i).loadUnaligned(as: SIMD8<Float>.self) * s8 + t8
            if gelu { v = 0.5 * v * (1 + SIMDMath.erf(v * 0.70710678118654752)) }
            UnsafeMutableRawPointer(to + i).storeBytes(of: v, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count {
            let v = from[i] * scale + shift
            to[i] = gelu ? 0.5 * v * (1 + Activation.erf(v * 0.70710678118654752)) : v
            i += 1
        }
    }
}
