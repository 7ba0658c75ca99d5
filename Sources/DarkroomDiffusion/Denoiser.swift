import DarkroomTensor

/// What conditions one sample of a denoiser call.
public enum Conditioning: Sendable {
    /// Unconditional (the "" prompt, or no class).
    case none
    /// A class of a class-conditioned model.
    case classIndex(Int)
    /// A prompt embedding (DeepFloyd IF: T5 output [77, 4096]).
    case embedding(Tensor)
}

/// What the network's main output estimates.
public enum PredictionKind: String, Sendable {
    /// The noise ε of a DDPM model.
    case epsilon
    /// The flow-matching velocity x₁ − x₀.
    case flow
    /// The clean image itself, in one pass from x + σε (a single-step denoiser; t is σ). Only `denoise` runs on it.
    case cleanImage = "clean_image"
}

/// How the sampler draws the noise it adds at each strided step.
public enum VarianceKind: String, Sendable, CaseIterable {
    /// σ² = β of the step (the spec's small-UNet sampler at every stride).
    case fixedLarge = "beta"
    /// σ² = β̃, the posterior variance (diffusers' `DDPMScheduler` default).
    case fixedSmall = "posterior"
    /// σ² = β when a step moves one timestep (the course's sampler), β̃ when it skips several: β of a whole stride is
    /// up to ~4× the posterior's variance in the last steps at stride 10, which leaves speckle.
    case betaAtUnitStride = "beta_at_unit_stride"
    /// Interpolated in log space between β̃ and β by the model's variance channel (DeepFloyd IF).
    case learnedRange = "learned_range"
}

/// A model's estimate for a batch: the main output, and the variance channel when the model has one.
public struct Prediction {
    public var output: Tensor
    public var variance: Tensor?

    public init(output: Tensor, variance: Tensor? = nil) {
        self.output = output
        self.variance = variance
    }
}

extension Denoiser {
    /// Guidance scale γ when neither the job nor config.json gives one (5 for the small UNet).
    public var defaultGuidance: Float { 5 }

    public var stageName: String { "sampling" }

    /// The noise σ a single-step denoiser was trained at: its `denoise` jobs' level unless the sidecar gives `sigma`.
    public var trainingSigma: Double? { nil }

    /// No super-resolution stage unless the model has one.
    public var upscaler: Upscaler? { nil }

    /// The distance between the model's default timesteps (1 for the small UNet, 30 for IF's course loop).
    public var defaultStride: Int {
        let d = defaultTimesteps
        return d.count > 1 ? d[0] - d[1] : 1
    }
}

/// Anything that, given noisy images, a time and per-sample conditioning, estimates the noise (or flow).
///
/// The sampling loops and every edit are written against this protocol once, for the small UNet and DeepFloyd IF.
public protocol Denoiser: AnyObject {
    /// A short name for logs and metadata.
    var name: String { get }
    var channels: Int { get }
    var imageSize: Int { get }
    /// Pixel values the model works in (the small UNet [0, 1], IF [−1, 1]).
    var pixelRange: ClosedRange<Float> { get }
    var prediction: PredictionKind { get }
    var variance: VarianceKind { get }
    /// The noise schedule (for ε models).
    var schedule: DDPMSchedule { get }
    /// Timesteps of a full default run, descending to 0 (ε models).
    var defaultTimesteps: [Int] { get }
    /// Whether the last strided update (to t = 0) adds noise, as the course's IF loop does.
    var noiseOnFinalStep: Bool { get }
    /// Guidance scale γ when neither the job nor config.json gives one.
    var defaultGuidance: Float { get }
    /// What a job's progress calls the sampling this model does ("sampling"; DeepFloyd IF: "stage I").
    var stageName: String { get }
    /// The model that upscales this one's images (DeepFloyd IF's stage II), if config.json names one.
    var upscaler: Upscaler? { get }
    /// The noise σ a single-step denoiser (`cleanImage`) was trained at; nil for diffusion models.
    var trainingSigma: Double? { get }

    /// Conditioning for a prompt ("" is unconditional); an unknown prompt is an error that says what is known.
    func conditioning(forPrompt prompt: String) throws -> Conditioning

    /// One network evaluation: `x` [B,C,H,W] at time `t` (a timestep index for ε models, t ∈ [0, 1] for flow
    /// models, σ for single-step denoisers), one conditioning per sample.
    func predict(_ x: Tensor, t: Double, conditioning: [Conditioning]) throws -> Prediction
}
