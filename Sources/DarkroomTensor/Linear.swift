/// Fully connected layer, as PyTorch's `Linear`: y = x·Wᵀ + b over the last dimension.
public enum Linear {
    /// Applies `weight` [out,in] and `bias` [out] to `x` [..., in].
    public static func forward(_ x: Tensor, weight: Tensor, bias: Tensor?) throws -> Tensor {
        guard weight.rank == 2, let inFeatures = x.shape.last, inFeatures == weight.shape[1] else {
            throw TensorError.shapeMismatch("linear input \(x.shape) with weight \(weight.shape)")
        }
        let outFeatures = weight.shape[0]
        if let bias, bias.count != outFeatures {
            throw TensorError.shapeMismatch("linear bias \(bias.shape) for \(outFeatures) outputs")
        }
        let rows = x.count / max(inFeatures, 1)
        var shape = x.shape
        shape[shape.count - 1] = outFeatures
        let out = Tensor(uninitialized: shape)
        if let bias {
            for r in 0..<rows { (out.pointer + r * outFeatures).update(from: bias.pointer, count: outFeatures) }
        }
        sgemm(transposeB: true, m: rows, n: outFeatures, k: inFeatures,
              a: x.pointer, b: weight.pointer, beta: bias == nil ? 0 : 1, c: out.pointer)
        return out
    }
}
