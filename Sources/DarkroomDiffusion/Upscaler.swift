import DarkroomTensor

/// A super-resolution model (DeepFloyd IF stage II): it denoises a large image x_t beside the upscaled, noise-augmented
/// small one, told how noisy that one is.
public protocol Upscaler: AnyObject {
    /// A short name for logs and metadata.
    var name: String { get }
    var channels: Int { get }
    /// The side of the images it makes (IF-II: 256).
    var outputSize: Int { get }
    /// Pixel values the model works in (IF: [−1, 1]).
    var pixelRange: ClosedRange<Float> { get }
    /// The noise schedule of its sampler and of the augmentation of the small image (IF-II: cosine, 1000 steps).
    var schedule: DDPMSchedule { get }

    /// Conditioning for a prompt ("" is unconditional); an unknown prompt is an error that says what is known.
    func conditioning(forPrompt prompt: String) throws -> Conditioning

    /// One network evaluation: `x` [B,C,H,W] at timestep `t` beside `lowResolution` [B,C,H,W] (the small image upscaled
    /// and noised to `noiseLevel`), one conditioning per sample. The output is ε, the variance channel beside it.
    func predict(_ x: Tensor, lowResolution: Tensor, t: Int, noiseLevel: Int, conditioning: [Conditioning]) throws -> Prediction
}

/// How a job upscales its results: the sidecar's `upscale_steps`, `upscale_guidance` and `upscale_noise`, resolved.
public struct UpscaleSettings: Codable, Equatable, Sendable {
    /// Sampler steps, "leading" spacing over the 1000 training steps (20: 950, 900, …, 0).
    public var steps: Int
    /// Classifier-free guidance scale on the ε channels.
    public var guidance: Float
    /// How much noise the upscaled small image gets before the loop (0…999), and the class label the model is told.
    public var noiseLevel: Int

    /// The course's 20 steps (the pipeline's default is 50), the pipeline's γ = 4 and noise level 250.
    public static let defaults = UpscaleSettings(steps: 20, guidance: 4, noiseLevel: 250)

    public init(steps: Int, guidance: Float, noiseLevel: Int) {
        self.steps = steps
        self.guidance = guidance
        self.noiseLevel = noiseLevel
    }

    enum CodingKeys: String, CodingKey {
        case steps, guidance
        case noiseLevel = "noise_level"
    }
}
