import Foundation

/// Normalization layers: batch norm (inference), group norm and layer norm, as PyTorch computes them.
public enum Normalization {
    /// Batch norm with running statistics over channel dimension 1 of `x` [B,C,...], in place.
    public static func batchNormInPlace(
        _ x: Tensor, mean: Tensor, variance: Tensor, weight: Tensor?, bias: Tensor?, epsilon: Float = 1e-5
    ) throws {
        guard x.rank >= 2, mean.count == x.shape[1], variance.count == x.shape[1] else {
            throw TensorError.shapeMismatch("batch_norm input \(x.shape) with statistics of \(mean.count) channels")
        }
        let channels = x.shape[1]
        var scale = [Float](repeating: 1, count: channels)
        var shift = [Float](repeating: 0, count: channels)
        for c in 0..<channels {
            let s = (weight?.pointer[c] ?? 1) / sqrtf(variance.pointer[c] + epsilon)
            scale[c] = s
            shift[c] = (bias?.pointer[c] ?? 0) - mean.pointer[c] * s
        }
        try scaleShiftChannelsInPlace(x, scale: scale, shift: shift)
    }

    /// x[b,c,...] ← x[b,c,...]·scale[c] + shift[c].
    public static func scaleShiftChannelsInPlace(_ x: Tensor, scale: [Float], shift: [Float]) throws {
        let channels = x.shape[1]
        guard scale.count == channels, shift.count == channels else {
            throw TensorError.shapeMismatch("per-channel scale of \(scale.count) for \(channels) channels")
        }
        let plane = x.count / max(x.shape[0] * channels, 1)
        let p = x.pointer
        scale.withUnsafeBufferPointer { sc in
            shift.withUnsafeBufferPointer { sh in
                parallelRanges(x.shape[0] * channels, minimumChunk: max(1, 16_384 / max(plane, 1))) { range in
                    for idx in range {
                        let c = idx % channels
                        let s = sc[c], t = sh[c]
                        let row = p + idx * plane
                        for i in 0..<plane { row[i] = row[i] * s + t }
                    }
                }
            }
        }
    }

    /// Group norm of `x` [B,C,...] with `groups` groups and optional per-channel affine parameters.
    public static func groupNorm(
        _ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, epsilon: Float = 1e-5
    ) throws -> Tensor {
        guard x.rank >= 2, groups > 0, x.shape[1] % groups == 0 else {
            throw TensorError.shapeMismatch("group_norm input \(x.shape) with \(groups) groups")
        }
        let channels = x.shape[1]
        let out = Tensor(uninitialized: x.shape)
        try groupNorm(x, into: out, groups: groups, weight: weight ?? Tensor(repeating: 1, shape: [channels]),
                      bias: bias ?? Tensor(zeros: [channels]), epsilon: epsilon, epilogue: .init(gelu: false))
        return out
    }

    /// Layer norm over the last dimension of `x`, with optional affine parameters of that size.
    public static func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, epsilon: Float = 1e-5) throws -> Tensor {
        guard let width = x.shape.last, width > 0 else { throw TensorError.shapeMismatch("layer_norm of \(x.shape)") }
        if let weight, weight.count != width { throw TensorError.shapeMismatch("layer_norm weight \(weight.shape) for width \(width)") }
        if let bias, bias.count != width { throw TensorError.shapeMismatch("layer_norm bias \(bias.shape) for width \(width)") }
        let out = Tensor(uninitialized: x.shape)
        let src = x.pointer, dst = out.pointer
        let wp = weight?.pointer, bp = bias?.pointer
        parallelRanges(x.count / width, minimumChunk: max(1, 16_384 / width)) { range in
            for r in range {
                let from = src + r * width, to = dst + r * width
                let (mean, invStd) = meanInvStd(from, count: width, epsilon: epsilon)
                for i in 0..<width { to[i] = (from[i] - mean) * invStd * (wp?[i] ?? 1) + (bp?[i] ?? 0) }
            }
        }
        return out
    }

    /// Mean and 1/sqrt(biased variance + ε) of `count` floats, accumulated in Double.
    @inlinable
    static func meanInvStd(_ p: UnsafePointer<Float>, count: Int, epsilon: Float) -> (Float, Float) {
        var sum = 0.0
        for i in 0..<count { sum += Double(p[i]) }
        let mean = sum / Double(count)
        var sq = 0.0
        for i in 0..<count { let d = Double(p[i]) - mean; sq += d * d }
        let variance = sq / Double(count)
        return (Float(mean), Float(1 / (variance + Double(epsilon)).squareRoot()))
    }
}
