/// Gradients of `Linear.forward`.
extension Linear {
    /// Back-propagates `dy` [N,out] through y = x·Wᵀ + b with `x` [N,in]; adds into the gradients, returns dL/dx.
    public static func backward(
        _ dy: Tensor, x: Tensor, weight: Tensor, weightGrad: Tensor, biasGrad: Tensor?
    ) throws -> Tensor {
        let (outFeatures, inFeatures) = (weight.shape[0], weight.shape[1])
        let rows = x.count / max(inFeatures, 1)
        guard dy.count == rows * outFeatures, weightGrad.shape == weight.shape else {
            throw TensorError.shapeMismatch("linear backward dy \(dy.shape) for x \(x.shape), weight \(weight.shape)")
        }
        // dW [out,in] += dyᵀ [out,N] · x [N,in];  dx [N,in] = dy [N,out] · W [out,in]
        sgemm(transposeA: true, m: outFeatures, n: inFeatures, k: rows, a: dy.pointer, b: x.pointer, beta: 1, c: weightGrad.pointer)
        if let biasGrad {
            for r in 0..<rows {
                let row = dy.pointer + r * outFeatures
                for o in 0..<outFeatures { biasGrad.pointer[o] += row[o] }
            }
        }
        let dx = Tensor(uninitialized: x.shape)
        sgemm(m: rows, n: inFeatures, k: outFeatures, a: dy.pointer, b: weight.pointer, c: dx.pointer)
        return dx
    }
}
