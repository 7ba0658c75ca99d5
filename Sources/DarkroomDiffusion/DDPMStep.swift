import Foundation
import DarkroomTensor

/// One strided reverse step x_t → x_t′ (t′ < t), as the course writes it and diffusers' `DDPMScheduler.step` does.
///
/// With ā = ᾱ_t, ā′ = ᾱ_t′ (1 when t′ < 0), α = ā/ā′, β = 1 − α:
/// x̂₀ = (x_t − √(1−ā)·ε)/√ā, optionally dynamically thresholded; μ = √ā′·β/(1−ā)·x̂₀ + √α·(1−ā′)/(1−ā)·x_t;
/// x_t′ = μ + σ·z, σ² by `VarianceKind` (β, β̃ = max((1−ā′)/(1−ā)·β, 1e−20), β at unit stride and β̃ otherwise, or
/// learned range).
public enum DDPMStep {
    /// Returns (x_t′, x̂₀). `variance` is the model's variance channel (learned range only); `noise` nil adds none;
    /// `sampleMax` is the thresholding's largest s (`sample_max_value`: IF stage I 1.5, stage II 1.0).
    public static func step(
        _ xt: Tensor, epsilon: Tensor, variance: Tensor?, t: Int, previous: Int, schedule: DDPMSchedule,
        kind: VarianceKind, thresholding: Bool, sampleMax: Float = 1.5, noise: Tensor?
    ) -> (Tensor, Tensor) {
        let a = schedule.alphaBars[t]
        let ap = previous >= 0 ? schedule.alphaBars[previous] : 1
        let alpha = a / ap, beta = 1 - alpha
        var x0 = ForwardProcess.estimateClean(xt, epsilon: epsilon, t: t, schedule: schedule)
        if thresholding { x0 = DynamicThresholding.apply(x0, maxValue: sampleMax) }
        let c0 = Float(ap.squareRoot() * beta / (1 - a))
        let ct = Float(alpha.squareRoot() * (1 - ap) / (1 - a))
        let out = Tensor(uninitialized: xt.shape)
        let posterior = max((1 - ap) / (1 - a) * beta, 1e-20)
        let logBeta = Float(log(beta)), logPosterior = Float(log(posterior))
        let large = kind == .fixedLarge || (kind == .betaAtUnitStride && t - previous == 1)
        let fixedSigma = Float(large ? beta.squareRoot() : posterior.squareRoot())
        for i in 0..<xt.count {
            var v = c0 * x0.pointer[i] + ct * xt.pointer[i]
            if let noise {
                let sigma: Float
                if kind == .learnedRange, let variance {
                    let frac = (variance.pointer[i] + 1) / 2
                    sigma = expf(0.5 * (frac * logBeta + (1 - frac) * logPosterior))
                } else {
                    sigma = fixedSigma
                }
                v += sigma * noise.pointer[i]
            }
            out.pointer[i] = v
        }
        return (out, x0)
    }
}

/// diffusers' dynamic thresholding of x̂₀: per sample s = quantile(|x̂₀|, 0.95) clamped to [1, 1.5], then
/// x̂₀ ← clamp(x̂₀, −s, s)/s.
public enum DynamicThresholding {
    public static func apply(_ x: Tensor, ratio: Double = 0.95, maxValue: Float = 1.5) -> Tensor {
        if maxValue <= 1 {
            // s is clamped to [1, maxValue] = 1 whatever the quantile: plain clipping to [−1, 1], no sort needed.
            let out = Tensor(uninitialized: x.shape)
            for i in 0..<x.count { out.pointer[i] = min(max(x.pointer[i], -1), 1) }
            return out
        }
        let batch = x.shape[0]
        let per = x.count / max(batch, 1)
        let out = Tensor(uninitialized: x.shape)
        for b in 0..<batch {
            let src = x.pointer + b * per
            let sorted = (0..<per).map { abs(src[$0]) }.sorted()
            // torch.quantile's linear interpolation: position ratio·(n−1).
            let pos = ratio * Double(per - 1)
            let lo = Int(pos.rounded(.down)), hi = min(lo + 1, per - 1)
            let frac = Float(pos - Double(lo))
            var s = sorted[lo] + (sorted[hi] - sorted[lo]) * frac
            s = min(max(s, 1), maxValue)
            let dst = out.pointer + b * per
            for i in 0..<per { dst[i] = min(max(src[i], -s), s) / s }
        }
        return out
    }
}
