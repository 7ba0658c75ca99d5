import DarkroomTensor
import DarkroomJobModel

/// Stage II after an edit: every result upscaled by the model's `Upscaler`.
extension Editor {
    /// The progress label of upscale steps (and the stage a job reports meanwhile).
    public static let upscaleLabel = "stage II"

    /// Results `r` makes (what an upscale runs on): samples, SDEdit levels or `t` values.
    public func plannedResults(_ r: EditRequest) -> Int {
        switch r.mode {
        case .noise: return 0
        case .generate, .inpaint, .anagram, .hybrid: return r.count
        case .denoise: return r.sigma?.count ?? r.t.count
        case .sdedit:
            return denoiser.prediction == .flow ? flowStrengths(r).count : ((try? sdeditLevels(r)) ?? []).count
        }
    }

    /// Upscales every result of `output` with `upscaler`: `images` become the upscaled ones and the originals move to
    /// `stageOne`; `upscaleFrames` follow the first `Editor.upscaleFramesLimit` images.
    ///
    /// One image at a time (a guided step is a batch of two), so memory does not grow with the job's `count`; each
    /// image draws from a random stream of its own, so stage I's results are the same with and without an upscale.
    /// Anagrams and hybrids are upscaled with their first prompt. Steps are reported to `progress` as "stage II".
    public func upscale(_ output: EditOutput, request r: EditRequest, with upscaler: Upscaler, settings: UpscaleSettings) throws -> EditOutput {
        guard !output.images.isEmpty else { return output }
        let conditioning = try upscaler.conditioning(forPrompt: r.prompts.first ?? r.prompt)
        let shown = min(output.images.count, Editor.upscaleFramesLimit)
        // About 40 frames for the images the GIF shows, unless the request says how often.
        let every = r.frameEvery > 0 ? r.frameEvery : max(1, settings.steps * shown / 40)
        var result = output
        var upscaled: [Tensor] = []
        for (k, image) in output.images.enumerated() {
            var rng = RandomSource(seed: Editor.upscaleSeed(r.seed, image: k))
            let small = Editor.toRange(image, upscaler.pixelRange)
            let large = try SuperResolution.upscale(small, with: upscaler, conditioning: [conditioning], settings: settings,
                                                    draw: { rng.gaussian($0) }, progress: { info in
                if k < shown, info.index % every == 0 || info.index == info.count {
                    result.upscaleFrames.append((k, info.t, Editor.fromRange(info.xt, upscaler.pixelRange), Editor.fromRange(info.x0, upscaler.pixelRange)))
                }
                return progress?(info, Editor.upscaleLabel) ?? true
            })
            upscaled.append(Editor.fromRange(large, upscaler.pixelRange))
        }
        result.stageOne = output.images
        result.images = upscaled
        return result
    }

    /// Images of an upscaled job whose stage II progress the GIF shows (each frame holds every shown image).
    public static let upscaleFramesLimit = 4

    /// The seed of image `k`'s stage II stream: apart from stage I's stream and from the other images'.
    static func upscaleSeed(_ seed: UInt64, image k: Int) -> UInt64 {
        (seed ^ 0x5354_4147_4532_0002) &+ UInt64(k) &* 0x9E37_79B9_7F4A_7C15
    }
}
