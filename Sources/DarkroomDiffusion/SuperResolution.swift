import Foundation
import DarkroomTensor
import DarkroomJobModel

/// The stage II loop of diffusers' `IFSuperResolutionPipeline`, for any `Upscaler`.
///
/// The small images are resized to the model's size bilinearly (align_corners) and noised once to the noise level
/// with the schedule; then every step feeds [x_t, upscaled] with the noise level as class label, guides the ε channels
/// (the variance comes from the conditional pass) and takes a learned-range DDPM step with x̂₀ thresholded to [−1, 1]
/// (`sample_max_value` 1.0). Random draws, in the pipeline's order: x_T, the augmentation noise, then one per noisy step.
public enum SuperResolution {
    /// The thresholding's largest s in IF-II's scheduler.
    public static let sampleMax: Float = 1

    /// diffusers' "leading" spacing: `steps` timesteps k·(T/steps), descending, followed by the step past 0 (0 − T/steps:
    /// the last step lands on ᾱ = 1 and adds no noise).
    public static func leadingTimesteps(steps: Int, trainingSteps: Int = 1000) -> [Int] {
        let ratio = trainingSteps / max(steps, 1)
        return (0..<steps).reversed().map { $0 * ratio } + [-ratio]
    }

    /// Upscales `images` [B,C,h,w] (the model's pixel range) to [B,C,S,S], one conditioning per image.
    ///
    /// `draw` gives standard normal tensors of a shape (a seeded `RandomSource` in jobs, recorded draws in tests).
    public static func upscale(
        _ images: Tensor, with upscaler: Upscaler, conditioning: [Conditioning], settings: UpscaleSettings,
        draw: (_ shape: [Int]) -> Tensor, progress: ProgressCallback? = nil
    ) throws -> Tensor {
        guard images.rank == 4, images.shape[1] == upscaler.channels else {
            throw DiffusionError.invalidRequest("images to upscale must be [B,\(upscaler.channels),H,W], got \(images.shape)")
        }
        let batch = images.shape[0], size = upscaler.outputSize
        guard conditioning.count == batch else {
            throw DiffusionError.invalidRequest("\(conditioning.count) conditionings for \(batch) images to upscale")
        }
        let schedule = upscaler.schedule
        guard (0...schedule.maxTimestep).contains(settings.noiseLevel) else {
            throw DiffusionError.invalidRequest("the noise level must be in 0…\(schedule.maxTimestep), got \(settings.noiseLevel)")
        }
        guard settings.steps >= 1, settings.steps <= schedule.maxTimestep + 1 else {
            throw DiffusionError.invalidRequest("upscale steps must be in 1…\(schedule.maxTimestep + 1), got \(settings.steps)")
        }
        let start = draw([batch, upscaler.channels, size, size])
        let resized = try Interpolation.bilinearAlignCorners(images, height: size, width: size)
        let lowResolution = ForwardProcess.noise(resized, t: settings.noiseLevel, schedule: schedule, epsilon: draw(resized.shape))

        let unconditional = try upscaler.conditioning(forPrompt: "")
        // As the pipeline: guidance only above 1. With no prompt the two halves would be equal, and so their mix.
        let allNone = conditioning.allSatisfy { if case .none = $0 { return true } else { return false } }
        let guided = settings.guidance > 1 && !allNone
        let bothLow = guided ? try Guidance.concatBatch([lowResolution, lowResolution]) : lowResolution
        let estimator: NoiseEstimator = { x, t in
            guard guided else {
                return try upscaler.predict(x, lowResolution: lowResolution, t: Int(t), noiseLevel: settings.noiseLevel, conditioning: conditioning)
            }
            let p = try upscaler.predict(try Guidance.concatBatch([x, x]), lowResolution: bothLow, t: Int(t), noiseLevel: settings.noiseLevel,
                                         conditioning: conditioning + Array(repeating: unconditional, count: batch))
            return Guidance.combine(p, batch: batch, scale: settings.guidance)
        }
        return try Sampler.denoise(start, timesteps: leadingTimesteps(steps: settings.steps, trainingSteps: schedule.maxTimestep + 1),
                                   estimator: estimator, schedule: schedule, variance: .learnedRange, thresholding: true,
                                   sampleMax: sampleMax, draw: draw, progress: progress)
    }
}
