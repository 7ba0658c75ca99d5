import Foundation
import DarkroomDiffusion
import DarkroomTensor

extension JobRunner {
    /// The job's upscale settings from the sidecar, the model entry's defaults and stage II's own (20 steps, γ 4, noise
    /// level 250); nil when the job does not upscale. Refuses, naming the field, an upscale the model cannot do.
    func resolveUpscale(_ s: Sidecar, mode: EditMode, for denoiser: Denoiser, model: String, options: ModelOptions) throws -> UpscaleSettings? {
        let given = Sidecar.upscaleFields.first(where: { s.upscaleValue($0) })
        guard s.upscale ?? options.upscale ?? false, mode != .noise else {
            if let given { throw JobError(field: given, "is given but the job does not upscale (add \"upscale\": true)") }
            return nil
        }
        guard let upscaler = denoiser.upscaler else {
            throw JobError(field: s.upscale == true ? "upscale" : (given ?? "upscale"),
                           "model '\(JobError.quote(model))' has no upscaler: name a DeepFloyd IF stage II folder as \"upscaler\" in its config.json entry")
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

    /// The prompt stage II is conditioned on: the job's prompt, or the first of anagram's and hybrid's two.
    static func upscalePrompt(_ request: EditRequest) -> String { request.prompts.first ?? request.prompt }

    /// Upscales every result of `output` with stage II: `images` become the upscaled ones, the stage I images move to
    /// `stageOne`, and the progress frames go on at the larger size. Steps are reported to `step` as "stage II".
    func upscale(_ output: EditOutput, request: EditRequest, settings: UpscaleSettings, upscaler: Upscaler, denoiser: Denoiser,
                 frameEvery: Int, step: @escaping (StepInfo, String) -> Bool) throws -> EditOutput {
        guard !output.images.isEmpty else { return output }
        // [0, 1] results to the upscaler's pixel range, as one batch: one loop upscales them all.
        let range = upscaler.pixelRange
        let batch = try Guidance.concatBatch(output.images)
        let small = batch.copy()
        Elementwise.affineInPlace(small, scale: range.upperBound - range.lowerBound, shift: range.lowerBound)
        let conditioning = Array(repeating: try upscaler.conditioning(forPrompt: JobRunner.upscalePrompt(request)), count: output.images.count)
        // A stream of its own, so that stage I's draws (and results) are the same with and without an upscale.
        var rng = RandomSource(seed: request.seed ^ 0x5354_4147_4532_0002)
        var result = output
        let toPixels = { (x: Tensor) -> Tensor in
            let out = x.copy()
            let width = range.upperBound - range.lowerBound
            Elementwise.affineInPlace(out, scale: 1 / width, shift: -range.lowerBound / width)
            for i in 0..<out.count { out.pointer[i] = min(max(out.pointer[i], 0), 1) }
            return out
        }
        let every = frameEvery > 0 ? frameEvery : max(1, settings.steps / 10)
        let large = try SuperResolution.upscale(small, with: upscaler, conditioning: conditioning, settings: settings,
                                                draw: { rng.gaussian($0) }, progress: { info in
            if info.index % every == 0 || info.index == info.count {
                result.frames.append((info.t, toPixels(info.xt), toPixels(info.x0)))
            }
            return step(info, "stage II")
        })
        result.stageOne = output.images
        result.images = (0..<large.shape[0]).map { toPixels(large.slice(batch: $0..<($0 + 1))) }
        return result
    }
}
