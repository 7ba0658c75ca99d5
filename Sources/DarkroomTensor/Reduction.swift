/// Sums over batch and space, used by bias gradients and normalisation statistics.
public enum Reduction {
    /// sums[c] += Σ over b and every spatial position of x[b,c,...].
    public static func addChannelSums(_ x: Tensor, into sums: Tensor) throws {
        guard x.rank >= 2, sums.count == x.shape[1] else {
            throw TensorError.shapeMismatch("channel sums of \(x.shape) into \(sums.shape)")
        }
        let (batch, channels) = (x.shape[0], x.shape[1])
        let plane = x.count / max(batch * channels, 1)
        for b in 0..<batch {
            for c in 0..<channels {
                let row = x.pointer + (b * channels + c) * plane
                var s: Float = 0
                for i in 0..<plane { s += row[i] }
                sums.pointer[c] += s
            }
        }
    }

    /// out[b,c] = Σ over spatial positions of x[b,c,...] (and of x·y when `weights` is given).
    public static func spatialSums(_ x: Tensor, weightedBy weights: Tensor? = nil) -> Tensor {
        let (batch, channels) = (x.shape[0], x.shape[1])
        let plane = x.count / max(batch * channels, 1)
        let out = Tensor(uninitialized: [batch, channels])
        for r in 0..<(batch * channels) {
            let row = x.pointer + r * plane
            var s: Float = 0
            if let weights {
                let wr = weights.pointer + r * plane
                for i in 0..<plane { s += row[i] * wr[i] }
            } else {
                for i in 0..<plane { s += row[i] }
            }
            out.pointer[r] = s
        }
        return out
    }
}
