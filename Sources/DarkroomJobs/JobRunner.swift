import Foundation
import DarkroomDiffusion
import DarkroomImaging
import DarkroomModels
import DarkroomSupport
import DarkroomTensor
import DarkroomJobModel

/// Runs one job: a sidecar (and the files it names) in, result PNGs and a comparison sheet out.
public struct JobRunner {
    /// What a finished job wrote and the exact parameters it ran with.
    public struct Result {
        public var request: EditRequest
        public var model: String
        public var outputs: [JobResult]
        public var seconds: [String: Double]
    }

    public let config: DarkroomConfig
    public let library: ModelLibrary
    /// Progress of the sampler (step, phase label); return false to cancel.
    public var progress: ((StepInfo, String) -> Bool)?

    public init(config: DarkroomConfig, library: ModelLibrary = ModelLibrary(), progress: ((StepInfo, String) -> Bool)? = nil) {
        self.config = config
        self.library = library
        self.progress = progress
    }

    /// Reads and validates the sidecar at `path`, resolving the image it names or implies (NAME.png beside it).
    public static func readSidecar(_ path: String) throws -> (Sidecar, image: String?, mask: String?) {
        guard let data = FileManager.default.contents(atPath: path) else { throw JobError(field: nil, "\(path): cannot read") }
        var sidecar = try Sidecar(json: data)
        let folder = (path as NSString).deletingLastPathComponent
        sidecar.image = sidecar.imagePath(sidecarName: (path as NSString).lastPathComponent) {
            FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent($0))
        }
        func locate(_ field: String, _ relative: String?) throws -> String? {
            guard let relative else { return nil }
            let full = (folder as NSString).appendingPathComponent(relative)
            guard FileManager.default.fileExists(atPath: full) else { throw JobError(field: field, "file '\(relative)' not found beside the sidecar") }
            return full
        }
        return (sidecar, try locate("image", sidecar.image), try locate("mask", sidecar.mask))
    }

    /// Fills every parameter from the sidecar, the config's defaults and the model's; picks a seed if none is given.
    public func resolve(_ s: Sidecar, for denoiser: Denoiser, model: String? = nil, checkPrompts: Bool = true) throws -> EditRequest {
        var r = EditRequest(mode: s.resolvedMode)
        let options = config.options(forModel: model ?? config.defaultModel)
        let maxT = denoiser.schedule.maxTimestep
        r.prompt = s.prompt ?? ""
        r.prompts = s.prompts ?? []
        r.noiseLevels = s.noiseLevels ?? []
        r.strength = s.strength
        r.t = s.t ?? [maxT / 4, maxT / 2, 3 * maxT / 4].map { max(1, $0) }
        if denoiser.prediction == .cleanImage {
            r.t = []
            r.sigma = s.sigma ?? denoiser.trainingSigma.map { [$0] }
        }
        r.guidance = s.guidance.map(Float.init) ?? (options.guidance ?? config.guidance).map(Float.init) ?? denoiser.defaultGuidance
        r.stride = s.steps.map { max(1, maxT / $0) } ?? s.stride ?? options.stride ?? config.stride ?? denoiser.defaultStride
        r.steps = s.steps
        r.seed = s.seed ?? config.seed ?? UInt64.random(in: 0...UInt64(Int32.max))
        r.count = s.count ?? 1
        r.view = s.view ?? .flip
        r.weight = Float(s.weight ?? 0.5)
        r.frameEvery = s.frameEvery ?? 0
        r.upscale = try resolveUpscale(s, mode: r.mode, for: denoiser, model: model ?? config.defaultModel, options: options)
        if let bad = s.t?.first(where: { $0 > maxT }) { throw JobError(field: "t", "\(bad) is beyond the model's last timestep \(maxT)") }
        if r.stride >= maxT { throw JobError(field: s.steps != nil ? "steps" : "stride", "leaves fewer than two timesteps (the model has \(maxT))") }
        try checkAgainstModel(r, sidecar: s, denoiser: denoiser)
        if r.mode == .sdedit, denoiser.prediction == .epsilon, r.noiseLevels.isEmpty {
            // Resolved here, so the job records where it starts: strength → one level of the strided schedule.
            r.noiseLevels = try Editor(denoiser: denoiser).sdeditLevels(r)
        }
        guard checkPrompts else { return r }
        let field = r.prompts.isEmpty ? "prompt" : "prompts"
        if let encoding = denoiser as? PromptEncoding {
            // Checked without encoding: intake never runs the text encoder.
            do {
                let notes = try encoding.checkPrompts([r.prompt] + r.prompts)
                r.notes = notes.isEmpty ? nil : notes
            } catch { throw JobError(field: field, "\(error)") }
        } else {
            for p in [r.prompt] + r.prompts {
                do { _ = try denoiser.conditioning(forPrompt: p) } catch { throw JobError(field: field, "\(error)") }
            }
        }
        return r
    }

    /// What the editor would refuse for this model, refused here instead, naming the field: a job that passes
    /// intake does not fail in the worker for a reason written in its sidecar.
    func checkAgainstModel(_ r: EditRequest, sidecar s: Sidecar, denoiser: Denoiser) throws {
        if denoiser.prediction == .flow, ![.generate, .sdedit].contains(r.mode) {
            throw JobError(field: "mode", "'\(r.mode.rawValue)' needs a DDPM (ε) model; \(denoiser.name) is a flow model (generate and sdedit work)")
        }
        if denoiser.prediction == .cleanImage {
            if r.mode != .denoise {
                throw JobError(field: "mode", "'\(r.mode.rawValue)' needs a diffusion model; \(denoiser.name) is a single-step denoiser (denoise works)")
            }
            if s.t != nil { throw JobError(field: "t", "\(denoiser.name) is a single-step denoiser: give its noise levels as sigma, not t") }
        } else if s.sigma != nil {
            throw JobError(field: "sigma", "only a single-step denoiser takes sigma; \(denoiser.name) is a diffusion model (give t)")
        }
        if r.mode == .anagram, r.view == .negate, denoiser.pixelRange.lowerBound != -denoiser.pixelRange.upperBound {
            throw JobError(field: "view", "'negate' needs a model whose pixels are symmetric around 0; \(denoiser.name) uses \(denoiser.pixelRange)")
        }
        guard r.mode == .sdedit, !r.noiseLevels.isEmpty else { return }
        if denoiser.prediction == .flow {
            let steps = r.steps ?? 50
            if let bad = r.noiseLevels.first(where: { $0 >= steps }) {
                throw JobError(field: s.noiseLevelsField, "\(bad) leaves nothing to run: levels must be below the \(steps) steps")
            }
        } else {
            let count = denoiser.schedule.stridedTimesteps(from: denoiser.defaultTimesteps.first, stride: r.stride).count
            if let bad = r.noiseLevels.first(where: { $0 >= count - 1 }) {
                throw JobError(field: s.noiseLevelsField, "\(bad) is outside 0…\(count - 2) (\(count - 1) strided steps at stride \(r.stride))")
            }
        }
    }

    /// A job whose parameters are resolved (seed included) and whose files are located: ready to record and run.
    public struct Prepared {
        public var request: EditRequest
        public var model: String
        public var image: String?
        public var mask: String?
        /// Queue order (the sidecar's `priority`, default 0).
        public var priority = 0

        public init(request: EditRequest, model: String, image: String?, mask: String?) {
            self.request = request
            self.model = model
            self.image = image
            self.mask = mask
        }

        /// A queued job, ready to run: its request, model and inputs inside its folder.
        public init(job: Job) throws {
            let request: EditRequest
            switch job.parameters {
            case .edit(let r): request = r
            case .rejection: throw JobError(field: nil, "job \(job.id ?? 0) is a rejected drop: there is nothing to run")
            case .unreadable(_, let reason):
                throw JobError(field: nil, "job \(job.id ?? 0) '\(JobError.quote(job.name))': its stored parameters no longer decode (\(reason)); written by another Darkroom version? drop the sidecar again")
            }
            self.init(request: request, model: job.model, image: job.image.map { (job.folder as NSString).appendingPathComponent($0) },
                      mask: job.mask.map { (job.folder as NSString).appendingPathComponent($0) })
            priority = job.priority
        }
    }

    /// Validates the sidecar at `path` against its model and resolves every parameter; throws `JobError`s naming
    /// the field for anything wrong.
    public func prepare(sidecarPath path: String) throws -> Prepared {
        let (sidecar, imagePath, maskPath) = try JobRunner.readSidecar(path)
        let modelName = try config.modelPath(sidecar.model).name
        let denoiser = try self.denoiser(modelName)
        return Prepared(request: try resolve(sidecar, for: denoiser, model: modelName), model: modelName, image: imagePath, mask: maskPath)
    }

    /// Resolves a validated sidecar whose files are already located (intake).
    public func prepare(_ sidecar: Sidecar, image: String?, mask: String?) throws -> Prepared {
        let modelName = try config.modelPath(sidecar.model).name
        let denoiser = try self.denoiser(modelName)
        var prepared = Prepared(request: try resolve(sidecar, for: denoiser, model: modelName), model: modelName, image: image, mask: mask)
        prepared.priority = sidecar.priority ?? 0
        return prepared
    }

    /// The loaded model called `name` in config.json.
    public func denoiser(_ name: String) throws -> Denoiser {
        let path = try config.modelPath(name).path
        return try library.denoiser(at: path, name: name, options: config.options(forModel: name))
    }

    /// Runs a prepared job and writes results into `outFolder`; `monitor` follows it and may stop it at a step, in
    /// which case the job throws `JobInterrupted` after writing what it has (the progress GIF so far).
    public func execute(_ job: Prepared, outFolder: String, monitor: JobMonitor? = nil) throws -> Result {
        var seconds: [String: Double] = [:]
        var clock = Date()
        func lap(_ phase: String) {
            seconds[phase] = Date().timeIntervalSince(clock)
            clock = Date()
        }
        monitor?.pulse?("loading model '\(job.model)'")
        monitor?.report(JobProgress(stage: "loading", step: 0, steps: 0, elapsedSeconds: 0))
        let denoiser = try self.denoiser(job.model)
        let image = try job.image.map { ImageResize.fit(try ImageDecoder.read(path: $0, channels: denoiser.channels), size: denoiser.imageSize) }
        let mask = try job.mask.map { ImageResize.fit(try ImageDecoder.read(path: $0, channels: 1), size: denoiser.imageSize) }
        lap("load")
        if let encoding = denoiser as? PromptEncoding {
            try encodePrompts(job.request, with: encoding, monitor: monitor)
            lap("encode")
        }
        try FileManager.default.createDirectory(atPath: outFolder, withIntermediateDirectories: true)
        AtomicFile.removeLeftovers(in: outFolder)   // an earlier attempt may have been killed mid-write
        var writer = ResultWriter(folder: outFolder, request: job.request, model: job.model, size: denoiser.imageSize)
        writer.inputs = try JobRunner.keepInputs(image: job.image, mask: job.mask, in: outFolder)
        let tracker = StepTracker(editor: Editor(denoiser: denoiser), request: job.request, writer: writer, monitor: monitor, progress: progress)
        var output: EditOutput
        do {
            output = try Editor(denoiser: denoiser, progress: tracker.step).run(job.request, image: image, mask: mask)
            lap("sample")
            if let settings = job.request.upscale {
                guard let upscaler = denoiser.upscaler else {
                    throw JobError(field: "upscale", "model '\(JobError.quote(job.model))' has no upscaler any more; name its stage II folder as \"upscaler\" in config.json")
                }
                tracker.begin(stage: Editor.upscaleLabel)
                output = try Editor(denoiser: denoiser, progress: tracker.step).upscale(output, request: job.request, with: upscaler, settings: settings)
                lap("upscale")
            }
        } catch DiffusionError.cancelled {
            throw JobInterrupted(outputs: try tracker.keepWhatWasMade())
        }
        monitor?.pulse?("writing results")
        monitor?.report(tracker.progress(stage: "writing"))
        let outputs = try writer.write(output, image: image, mask: mask, upscaler: denoiser.upscaler?.name)
        try? FileManager.default.removeItem(atPath: writer.path(JobFiles.preview))
        lap("write")
        return Result(request: job.request, model: job.model, outputs: outputs, seconds: seconds)
    }

    /// Encodes the job's prompts its model does not know yet, reporting the "encoding" stage (and a log line) at most
    /// once per report interval and at the end of each prompt. A cancel or a stopping daemon is heard between two
    /// encoder blocks, as between two sampler steps.
    func encodePrompts(_ request: EditRequest, with encoding: PromptEncoding, monitor: JobMonitor?) throws {
        let started = Date()
        var lastReport = Date.distantPast, lastPoll = Date.distantPast
        let shouldStop = monitor.map { m in
            { () -> Bool in
                guard Date().timeIntervalSince(lastPoll) >= m.pollInterval else { return false }
                lastPoll = Date()
                return m.shouldStop()
            }
        }
        let report = { (p: EncodingProgress) in
            monitor?.pulse?("encoding prompt \(p.prompt + 1) of \(p.prompts): block \(p.block) of \(p.blocks)")
            let now = Date()
            guard now.timeIntervalSince(lastReport) >= (monitor?.interval ?? 1) || p.block == p.blocks else { return }
            lastReport = now
            monitor?.report(JobProgress(stage: "encoding", label: "prompt \(p.prompt + 1) of \(p.prompts)", step: p.prompt * p.blocks + p.block,
                                        steps: p.prompts * p.blocks, elapsedSeconds: now.timeIntervalSince(started)))
            monitor?.note?("encoding prompt \(p.prompt + 1) of \(p.prompts) \"\(JobError.quote(p.text))\": block \(p.block) of \(p.blocks)")
        }
        let encoded: [String]
        do {
            encoded = try encoding.encodeMissing([request.prompt] + request.prompts, progress: report, shouldStop: shouldStop)
        } catch is EncodingInterrupted {
            throw JobInterrupted(outputs: [])
        }
        if !encoded.isEmpty {
            monitor?.note?("encoded \(encoded.count) prompt(s) with T5 in \(String(format: "%.1f", Date().timeIntervalSince(started))) s; cached for later jobs")
        }
    }

    /// Prepares and runs the sidecar at `path`, writing results into `outFolder`.
    public func run(sidecarPath path: String, outFolder: String) throws -> Result {
        try execute(try prepare(sidecarPath: path), outFolder: outFolder)
    }
}
