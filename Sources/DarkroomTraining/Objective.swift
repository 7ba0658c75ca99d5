import Foundation
import DarkroomDiffusion
import DarkroomTensor

/// What the network learns to predict, and how a training batch is made from clean images.
public enum Objective: String, CaseIterable, Sendable {
    /// Single-step denoising: predict x from x + σε (the course's σ = 0.5); the network sees t = σ.
    case denoise
    /// DDPM ε-prediction with t uniform in 1…T; the network sees t/T.
    case ddpm
    /// Flow matching: x_t = (1 − t)·x₀ + t·x₁ with x₀ noise and x₁ the image; predict x₁ − x₀.
    case flow
    /// The course's pure-noise denoiser: the input is noise alone and the target a clean image; the network sees t = 1.
    /// Under squared error the best it can do is the mean of the data (per class when conditioned): a blurry centroid.
    case pureNoise = "pure-noise"

    /// Network inputs and regression target for clean images `x` [B,C,H,W].
    public func trainingBatch(_ x: Tensor, schedule: DDPMSchedule, sigma: Float, rng: inout RandomSource)
        -> (input: Tensor, t: Tensor, target: Tensor)
    {
        let batch = x.shape[0]
        let per = x.count / max(batch, 1)
        let noise = rng.gaussian(x.shape)
        let input = Tensor(uninitialized: x.shape)
        let t = Tensor(uninitialized: [batch, 1])
        switch self {
        case .denoise:
            for i in 0..<x.count { input.pointer[i] = x.pointer[i] + sigma * noise.pointer[i] }
            t.pointer.update(repeating: sigma, count: batch)
            return (input, t, x)
        case .ddpm:
            let steps = schedule.maxTimestep
            for b in 0..<batch {
                let step = 1 + rng.integer(below: steps)
                let ab = schedule.alphaBars[step]
                let (s, n) = (Float(ab.squareRoot()), Float((1 - ab).squareRoot()))
                for j in (b * per)..<((b + 1) * per) { input.pointer[j] = s * x.pointer[j] + n * noise.pointer[j] }
                t.pointer[b] = Float(step) / Float(steps)
            }
            return (input, t, noise)
        case .pureNoise:
            t.pointer.update(repeating: 1, count: batch)
            return (noise, t, x)
        case .flow:
            let target = Tensor(uninitialized: x.shape)
            for b in 0..<batch {
                let tb = rng.uniform()
                for j in (b * per)..<((b + 1) * per) {
                    input.pointer[j] = (1 - tb) * noise.pointer[j] + tb * x.pointer[j]
                    target.pointer[j] = x.pointer[j] - noise.pointer[j]
                }
                t.pointer[b] = tb
            }
            return (input, t, target)
        }
    }
}
