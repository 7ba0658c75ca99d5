import DarkroomTensor

/// The forward process q(x_t | x₀): x_t = √ᾱ_t·x₀ + √(1 − ᾱ_t)·ε.
public enum ForwardProcess {
    /// Noises `x0` to timestep `t` with the given noise.
    public static func noise(_ x0: Tensor, t: Int, schedule: DDPMSchedule, epsilon: Tensor) -> Tensor {
        let ab = schedule.alphaBars[t]
        let (a, b) = (Float(ab.squareRoot()), Float((1 - ab).squareRoot()))
        let out = Tensor(uninitialized: x0.shape)
        for i in 0..<x0.count { out.pointer[i] = a * x0.pointer[i] + b * epsilon.pointer[i] }
        return out
    }

    /// Noises `x0` to timestep `t`, drawing ε from `rng`.
    public static func noise(_ x0: Tensor, t: Int, schedule: DDPMSchedule, rng: inout RandomSource) -> Tensor {
        noise(x0, t: t, schedule: schedule, epsilon: rng.gaussian(x0.shape))
    }

    /// The one-step estimate x̂₀ = (x_t − √(1 − ᾱ_t)·ε̂)/√ᾱ_t.
    public static func estimateClean(_ xt: Tensor, epsilon: Tensor, t: Int, schedule: DDPMSchedule) -> Tensor {
        let ab = schedule.alphaBars[t]
        let (a, b) = (Float(1 / ab.squareRoot()), Float((1 - ab).squareRoot()))
        let out = Tensor(uninitialized: xt.shape)
        for i in 0..<xt.count { out.pointer[i] = (xt.pointer[i] - b * epsilon.pointer[i]) * a }
        return out
    }
}
