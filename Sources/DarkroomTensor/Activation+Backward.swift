import Foundation

/// Gradients of the activations.
extension Activation {
    /// dL/du of GELU at pre-activations `u`: dy·(Φ(u) + u·φ(u)), with φ the standard normal density.
    public static func geluBackward(_ dy: Tensor, input u: Tensor) -> Tensor {
        let dx = Tensor(uninitialized: u.shape)
        let d = dy.pointer, x = u.pointer, o = dx.pointer
        o.update(from: x, count: u.count)
        parallelRanges(u.count) { range in
            let start = range.lowerBound
            SIMDMath.map(o + start, count: range.count, { v, i in
                let cdf = 0.5 * (1 + SIMDMath.erf(v * 0.70710678118654752))
                let pdf = 0.3989422804014327 * SIMDMath.exp(-0.5 * v * v)
                return UnsafeRawPointer(d + start + i).loadUnaligned(as: SIMD8<Float>.self) * (cdf + v * pdf)
            }, { v, i in
                let cdf = 0.5 * (1 + erf(v * 0.70710678118654752))
                let pdf = 0.3989422804014327 * expf(-0.5 * v * v)
                return d[start + i] * (cdf + v * pdf)
            })
        }
        return dx
    }
}

/// Gradients of pooling.
extension Pooling {
    /// Spreads `dy` [B,C,Ho,Wo] evenly over each non-overlapping kernel×kernel window of an H×W input.
    public static func averagePoolBackward(_ dy: Tensor, inputShape: [Int], kernel: Int) -> Tensor {
        let (h, w) = (inputShape[2], inputShape[3])
        let (ho, wo) = (dy.shape[2], dy.shape[3])
        let dx = Tensor(zeros: inputShape)
        let scale = 1 / Float(kernel * kernel)
        for plane in 0..<(inputShape[0] * inputShape[1]) {
            let g = dy.pointer + plane * ho * wo, o = dx.pointer + plane * h * w
            for oy in 0..<ho {
                for ox in 0..<wo {
                    let v = g[oy * wo + ox] * scale
                    for ky in 0..<kernel {
                        for kx in 0..<kernel { o[(oy * kernel + ky) * w + ox * kernel + kx] += v }
                    }
                }
            }
        }
        return dx
    }
}

/// Mean squared error and its gradient.
public enum MeanSquaredError {
    /// mean((prediction − target)²) and dL/dprediction = 2·(prediction − target)/N.
    public static func lossAndGradient(_ prediction: Tensor, _ target: Tensor) throws -> (Float, Tensor) {
        guard prediction.shape == target.shape else {
            throw TensorError.shapeMismatch("MSE of \(prediction.shape) against \(target.shape)")
        }
        let n = prediction.count
        let grad = Tensor(uninitialized: prediction.shape)
        var sum = 0.0
        let scale = 2 / Float(n)
        for i in 0..<n {
            let d = prediction.pointer[i] - target.pointer[i]
            sum += Double(d * d)
            grad.pointer[i] = scale * d
        }
        return (Float(sum / Double(n)), grad)
    }
}
