import Foundation
import DarkroomDiffusion
import DarkroomTensor
import DarkroomJobModel
import DarkroomSupport

extension JobRunner {
    /// The job's upscale settings from the sidecar, the model entry's defaults and stage II's own (20 steps, γ 4, noise
    /// level 250); nil when the job does not upscale. Refuses, naming the field, an upscale the model cannot do.
    func resolveUpscale(_ s: Sidecar, mode: EditMode, for denoiser: Denoiser, model: String, options: ModelOptions) throws -> UpscaleSettings? {
        let given = s.givenUpscaleFields.first
        guard s.upscale ?? options.upscale ?? false, mode != .noise else {
            if let given {
                throw JobError(field: given, mode == .noise ? "mode 'noise' makes no image to upscale"
                                                            : "is given but the job does not upscale (add \"upscale\": true)")
            }
            return nil
        }
        guard let upscaler = denoiser.upscaler else {
            throw JobError(field: s.upscale == true ? "upscale" : (given ?? "upscale"),
                           "model '\(JobError.quote(model))' has no upscaler: name a DeepFloyd IF stage II folder as \"upscaler\" in its config.json entry (only DeepFloyd IF models upscale)")
        }
        let d = UpscaleSettings.defaults
        let settings = UpscaleSettings(steps: s.upscaleSteps ?? options.upscaleSteps ?? d.steps,
                                       guidance: Float(s.upscaleGuidance ?? options.upscaleGuidance ?? Double(d.guidance)),
                                       noiseLevel: s.upscaleNoise ?? options.upscaleNoise ?? d.noiseLevel)
        let last = upscaler.schedule.maxTimestep
        if settings.steps > last + 1 { throw JobError(field: "upscale_steps", "\(settings.steps) is more than the upscaler's \(last + 1) timesteps") }
        if settings.noiseLevel > last { throw JobError(field: "upscale_noise", "\(settings.noiseLevel) is beyond the upscaler's last timestep \(last)") }
        return settings
    }
}
