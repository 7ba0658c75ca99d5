import DarkroomTensor

/// Classifier-free guidance: ε = ε_u + γ·(ε_c − ε_u), with the variance channel from the conditional pass.
public enum Guidance {
    /// An estimator for `denoiser` with per-sample `conditioning` and guidance scale `scale`.
    ///
    /// Conditional and unconditional passes share one batched network call. With γ = 1, or when every sample is
    /// unconditional, only the conditional pass runs.
    public static func estimator(_ denoiser: Denoiser, conditioning: [Conditioning], scale: Float) -> NoiseEstimator {
        { x, t in try guided(denoiser, x, t: t, conditioning: conditioning, scale: scale) }
    }

    /// One guided estimate for `x` [B,…] with `conditioning` (B entries).
    public static func guided(_ denoiser: Denoiser, _ x: Tensor, t: Double, conditioning: [Conditioning], scale: Float) throws -> Prediction {
        let allNone = conditioning.allSatisfy { if case .none = $0 { return true } else { return false } }
        if scale == 1 || allNone {
            return try denoiser.predict(x, t: t, conditioning: conditioning)
        }
        let batch = x.shape[0]
        let both = try concatBatch([x, x])
        let p = try denoiser.predict(both, t: t, conditioning: conditioning + Array(repeating: .none, count: batch))
        return combine(p, batch: batch, scale: scale)
    }

    /// The guided estimate from one prediction of a doubled batch, conditional samples first: ε_u + γ·(ε_c − ε_u) and
    /// the conditional variance.
    public static func combine(_ p: Prediction, batch: Int, scale: Float) -> Prediction {
        let cond = p.output.slice(batch: 0..<batch), uncond = p.output.slice(batch: batch..<(2 * batch))
        let out = Tensor(uninitialized: cond.shape)
        for i in 0..<out.count { out.pointer[i] = uncond.pointer[i] + scale * (cond.pointer[i] - uncond.pointer[i]) }
        return Prediction(output: out, variance: p.variance?.slice(batch: 0..<batch))
    }

    /// Stacks tensors of equal trailing shape along the batch dimension.
    public static func concatBatch(_ parts: [Tensor]) throws -> Tensor {
        guard let first = parts.first else { throw TensorError.shapeMismatch("empty batch") }
        let tail = Array(first.shape.dropFirst())
        guard parts.allSatisfy({ Array($0.shape.dropFirst()) == tail }) else {
            throw TensorError.shapeMismatch("batch concat of \(parts.map(\.shape))")
        }
        let out = Tensor(uninitialized: [parts.reduce(0) { $0 + $1.shape[0] }] + tail)
        var offset = 0
        for p in parts {
            (out.pointer + offset).update(from: p.pointer, count: p.count)
            offset += p.count
        }
        return out
    }
}
