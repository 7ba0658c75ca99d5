import Foundation
import DarkroomTensor

/// The Adam optimiser as PyTorch implements it (no weight decay, no AMSGrad), with optional global-norm clipping.
public struct Adam {
    public var learningRate: Float
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    /// Number of updates made so far (PyTorch's `step`).
    public var step: Int = 0

    public init(learningRate: Float) { self.learningRate = learningRate }

    /// Scales all gradients so that their joint L2 norm is at most `maxNorm`; returns the norm before clipping.
    @discardableResult
    public static func clipGradients(_ parameters: [Parameter], maxNorm: Float) -> Float {
        var sq = 0.0
        for p in parameters { for i in 0..<p.grad.count { sq += Double(p.grad.pointer[i] * p.grad.pointer[i]) } }
        let norm = Float(sq.squareRoot())
        let factor = maxNorm / (norm + 1e-6)
        if factor < 1 { for p in parameters { Elementwise.affineInPlace(p.grad, scale: factor, shift: 0) } }
        return norm
    }

    /// One update of every parameter from its gradient.
    public mutating func update(_ parameters: [Parameter]) {
        step += 1
        let bc1 = 1 - powf(beta1, Float(step))
        let bc2 = 1 - powf(beta2, Float(step))
        let stepSize = learningRate / bc1
        let bc2Root = bc2.squareRoot()
        let (b1, b2, eps) = (beta1, beta2, epsilon)
        for p in parameters {
            let w = p.value.pointer, g = p.grad.pointer, m = p.firstMoment.pointer, v = p.secondMoment.pointer
            for i in 0..<p.value.count {
                m[i] = b1 * m[i] + (1 - b1) * g[i]
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                w[i] -= stepSize * m[i] / (v[i].squareRoot() / bc2Root + eps)
            }
        }
    }
}
