import DarkroomTensor
import DarkroomJobModel

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
