import DarkroomTensor
import DarkroomJobModel

/// Runs the course's edits on any `Denoiser`; images go in and come out in [0, 1] as [1,C,H,W] tensors.
public struct Editor {
    public let denoiser: Denoiser
    /// Called at every sampler step with the step and a label of the current phase ("level 3", "sample").
    public var progress: ((StepInfo, String) -> Bool)?

    public init(denoiser: Denoiser, progress: ((StepInfo, String) -> Bool)? = nil) {
        self.denoiser = denoiser
        self.progress = progress
    }

    /// Runs `request`; `image` is required by every mode but `generate`, `mask` by `inpaint`.
    public func run(_ request: EditRequest, image: Tensor? = nil, mask: Tensor? = nil) throws -> EditOutput {
        var rng = RandomSource(seed: request.seed)
        let source = try image.map { try toModel(checked($0, "image")) }
        func needImage() throws -> Tensor {
            guard let source else { throw DiffusionError.invalidRequest("mode '\(request.mode.rawValue)' needs an image") }
            return source
        }
        if denoiser.prediction == .flow, ![.generate, .sdedit].contains(request.mode) {
            throw DiffusionError.invalidRequest("mode '\(request.mode.rawValue)' needs a DDPM (ε) model; \(denoiser.name) is a flow model (generate and sdedit work)")
        }
        if denoiser.prediction == .cleanImage, request.mode != .denoise {
            throw DiffusionError.invalidRequest("mode '\(request.mode.rawValue)' needs a diffusion model; \(denoiser.name) is a single-step denoiser (denoise works)")
        }
        switch request.mode {
        case .generate: return try generate(request, &rng)
        case .noise: return try noise(request, try needImage(), &rng)
        case .denoise: return try denoise(request, try needImage(), &rng)
        case .sdedit: return try sdedit(request, try needImage(), &rng)
        case .inpaint:
            guard let mask else { throw DiffusionError.invalidRequest("mode 'inpaint' needs a mask") }
            return try inpaint(request, try needImage(), mask: try checked(mask, "mask", channels: 1), &rng)
        case .anagram: return try anagram(request, &rng)
        case .hybrid: return try hybrid(request, &rng)
        }
    }

    // MARK: - Pixel ranges and checks

    func checked(_ x: Tensor, _ what: String, channels: Int? = nil) throws -> Tensor {
        let c = channels ?? denoiser.channels, s = denoiser.imageSize
        guard x.shape == [1, c, s, s] else {
            throw DiffusionError.invalidRequest("\(what) must be [1,\(c),\(s),\(s)] for \(denoiser.name), got \(x.shape)")
        }
        return x
    }

    func toModel(_ x: Tensor) -> Tensor { Editor.toRange(x, denoiser.pixelRange) }

    /// Model pixels to [0, 1], clamped.
    public func toPixels(_ x: Tensor) -> Tensor { Editor.fromRange(x, denoiser.pixelRange) }

    /// [0, 1] pixels to a model's range `r`.
    static func toRange(_ x: Tensor, _ r: ClosedRange<Float>) -> Tensor {
        let out = x.copy()
        Elementwise.affineInPlace(out, scale: r.upperBound - r.lowerBound, shift: r.lowerBound)
        return out
    }

    /// Pixels in a model's range `r` to [0, 1], clamped.
    static func fromRange(_ x: Tensor, _ r: ClosedRange<Float>) -> Tensor {
        let out = x.copy()
        Elementwise.affineInPlace(out, scale: 1 / (r.upperBound - r.lowerBound), shift: -r.lowerBound / (r.upperBound - r.lowerBound))
        for i in 0..<out.count { out.pointer[i] = min(max(out.pointer[i], 0), 1) }
        return out
    }

    func fullTimesteps(_ request: EditRequest) -> [Int] {
        denoiser.schedule.stridedTimesteps(from: denoiser.defaultTimesteps.first, stride: request.stride)
    }

    func conditioning(_ prompt: String, count: Int) throws -> [Conditioning] {
        Array(repeating: try denoiser.conditioning(forPrompt: prompt), count: count)
    }

    /// A progress callback that records frames every `every` steps and forwards to `progress`.
    func recorder(_ output: UnsafeMutablePointer<EditOutput>, every: Int, label: String, expectedSteps: Int) -> ProgressCallback {
        let k = every > 0 ? every : max(1, expectedSteps / 40)
        return { info in
            if info.index % k == 0 || info.index == info.count {
                output.pointee.frames.append((info.t, toPixels(info.xt), toPixels(info.x0)))
            }
            return progress?(info, label) ?? true
        }
    }

    func splitSamples(_ x: Tensor) -> [Tensor] { (0..<x.shape[0]).map { toPixels(x.slice(batch: $0..<($0 + 1))) } }

    func sample(_ request: EditRequest, from x: Tensor, timesteps: [Int], estimator: NoiseEstimator, rng: inout RandomSource,
                output: inout EditOutput, label: String, project: ((Tensor, Int) throws -> Tensor)? = nil) throws -> Tensor {
        try withUnsafeMutablePointer(to: &output) { out in
            let callback = recorder(out, every: request.frameEvery, label: label, expectedSteps: timesteps.count - 1)
            return try Sampler.denoise(x, timesteps: timesteps, estimator: estimator, schedule: denoiser.schedule,
                                       variance: denoiser.variance, noiseOnFinalStep: denoiser.noiseOnFinalStep,
                                       rng: &rng, project: project, progress: callback)
        }
    }

    func flowSample(_ request: EditRequest, from x: Tensor, start: Double, estimator: NoiseEstimator,
                    output: inout EditOutput, label: String) throws -> Tensor {
        let steps = request.steps ?? 50
        return try withUnsafeMutablePointer(to: &output) { out in
            let callback = recorder(out, every: request.frameEvery, label: label, expectedSteps: steps)
            return try Sampler.flow(x, steps: max(1, Int((1 - start) * Double(steps))), estimator: estimator, from: start, progress: callback)
        }
    }

    func shape(_ count: Int) -> [Int] { [count, denoiser.channels, denoiser.imageSize, denoiser.imageSize] }
}
