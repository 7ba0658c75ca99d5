import DarkroomTensor

/// A noise (or flow) estimator for a batch at one time: the denoiser with guidance and any edit's combination.
public typealias NoiseEstimator = (_ x: Tensor, _ t: Double) throws -> Prediction

/// What the progress callback sees at every step.
public struct StepInfo {
    /// Step number (1-based) and the number of steps.
    public let index: Int
    public let count: Int
    /// The time just reached (timestep index, or flow time in [0, 1]).
    public let t: Double
    /// The current sample and the current clean-image estimate, in the model's pixel range.
    public let xt: Tensor
    public let x0: Tensor
}

/// Return false to cancel the run.
public typealias ProgressCallback = (StepInfo) -> Bool

/// The sampling loops: strided DDPM denoising for ε models, Euler integration for flow models.
public enum Sampler {
    /// Iterative denoising of `x` (at `timesteps[0]`) down the descending `timesteps` list.
    ///
    /// `project` runs after every step with the new timestep (RePaint's inpainting projection); `rng` draws the
    /// added noise, one batch-shaped draw per step, so runs are reproducible from the seed.
    public static func denoise(
        _ x: Tensor, timesteps: [Int], estimator: NoiseEstimator, schedule: DDPMSchedule, variance: VarianceKind,
        thresholding: Bool = false, noiseOnFinalStep: Bool = false, rng: inout RandomSource,
        project: ((Tensor, Int) throws -> Tensor)? = nil, progress: ProgressCallback? = nil
    ) throws -> Tensor {
        var source = rng
        defer { rng = source }
        return try denoise(x, timesteps: timesteps, estimator: estimator, schedule: schedule, variance: variance,
                           thresholding: thresholding, noiseOnFinalStep: noiseOnFinalStep, draw: { source.gaussian($0) },
                           project: project, progress: progress)
    }

    /// The same loop with the added noise from `draw` (shape → standard normal tensor), called once per noisy step.
    /// A step to a negative timestep (diffusers' last step from t = 0) adds none.
    public static func denoise(
        _ x: Tensor, timesteps: [Int], estimator: NoiseEstimator, schedule: DDPMSchedule, variance: VarianceKind,
        thresholding: Bool = false, sampleMax: Float = 1.5, noiseOnFinalStep: Bool = false, draw: (_ shape: [Int]) -> Tensor,
        project: ((Tensor, Int) throws -> Tensor)? = nil, progress: ProgressCallback? = nil
    ) throws -> Tensor {
        var current = x
        let count = timesteps.count - 1
        for i in 0..<max(count, 0) {
            let (t, previous) = (timesteps[i], timesteps[i + 1])
            let prediction = try estimator(current, Double(t))
            let lastStep = i == count - 1
            let noise = (!lastStep || noiseOnFinalStep) && previous >= 0 ? draw(current.shape) : nil
            let (next, x0) = DDPMStep.step(current, epsilon: prediction.output, variance: prediction.variance, t: t,
                                           previous: previous, schedule: schedule, kind: variance,
                                           thresholding: thresholding, sampleMax: sampleMax, noise: noise)
            current = try project?(next, previous) ?? next
            if let progress, !progress(StepInfo(index: i + 1, count: count, t: Double(previous), xt: current, x0: x0)) {
                throw DiffusionError.cancelled
            }
        }
        return current
    }

    /// Euler integration of a flow model from noise at t = 0 to an image at t = 1 in `steps` equal steps.
    public static func flow(
        _ x: Tensor, steps: Int, estimator: NoiseEstimator, from start: Double = 0, progress: ProgressCallback? = nil
    ) throws -> Tensor {
        let current = x.copy()
        let n = max(steps, 1)
        let dt = (1 - start) / Double(n)
        for k in 0..<n {
            let t = start + Double(k) * dt
            let v = try estimator(current, t).output
            let f = Float(dt)
            for i in 0..<current.count { current.pointer[i] += f * v.pointer[i] }
            if let progress {
                // Clean-image estimate: x₁ ≈ x_t + (1 − t)·v.
                let x1 = current.copy()
                let rest = Float(1 - t - dt)
                for i in 0..<x1.count { x1.pointer[i] += rest * v.pointer[i] }
                if !progress(StepInfo(index: k + 1, count: n, t: t + dt, xt: current, x0: x1)) { throw DiffusionError.cancelled }
            }
        }
        return current
    }
}
