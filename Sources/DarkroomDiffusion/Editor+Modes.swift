import DarkroomTensor
import DarkroomJobModel

/// The edit modes themselves.
extension Editor {
    func generate(_ r: EditRequest, _ rng: inout RandomSource) throws -> EditOutput {
        var out = EditOutput()
        let estimator = Guidance.estimator(denoiser, conditioning: try conditioning(r.prompt, count: r.count), scale: r.guidance)
        let noise = rng.gaussian(shape(r.count))
        let x = denoiser.prediction == .flow
            ? try flowSample(r, from: noise, start: 0, estimator: estimator, output: &out, label: "sample")
            : try sample(r, from: noise, timesteps: fullTimesteps(r), estimator: estimator, rng: &rng, output: &out, label: "sample")
        out.images = splitSamples(x)
        out.labels = (1...r.count).map { "sample \($0)" }
        out.rows = [zip(out.labels, out.images).map { ($0, $1) }]
        return out
    }

    func noise(_ r: EditRequest, _ x0: Tensor, _ rng: inout RandomSource) throws -> EditOutput {
        var out = EditOutput()
        try validate(r.t, "t")
        var row: [(String, Tensor)] = [("original", toPixels(x0))]
        for t in r.t {
            let xt = toPixels(ForwardProcess.noise(x0, t: t, schedule: denoiser.schedule, rng: &rng))
            out.images.append(xt)
            out.labels.append("t=\(t)")
            row.append(("t=\(t)", xt))
        }
        out.rows = [row]
        return out
    }

    func denoise(_ r: EditRequest, _ x0: Tensor, _ rng: inout RandomSource) throws -> EditOutput {
        if denoiser.prediction == .cleanImage { return try denoiseInOneStep(r, x0, &rng) }
        var out = EditOutput()
        try validate(r.t, "t")
        let cond = try conditioning(r.prompt, count: 1)
        let estimator = Guidance.estimator(denoiser, conditioning: cond, scale: r.guidance)
        for t in r.t {
            let xt = ForwardProcess.noise(x0, t: t, schedule: denoiser.schedule, rng: &rng)
            let blurred = try GaussianBlur.apply(toPixels(xt), size: r.blurKernel, sigma: r.blurSigma)
            let oneStep = ForwardProcess.estimateClean(xt, epsilon: try estimator(xt, Double(t)).output, t: t, schedule: denoiser.schedule)
            let steps = denoiser.schedule.stridedTimesteps(from: t, stride: r.stride)
            let iterative = try sample(r, from: xt, timesteps: steps, estimator: estimator, rng: &rng, output: &out, label: "t=\(t)")
            out.images.append(toPixels(iterative))
            out.labels.append("t=\(t)")
            out.rows.append([("noisy t=\(t)", toPixels(xt)), ("gaussian blur", blurred),
                             ("one-step", toPixels(oneStep)), ("iterative", toPixels(iterative))])
        }
        return out
    }

    /// `denoise` on a single-step denoiser: the image plus σε at each σ, the Gaussian-blur baseline and the network's
    /// one pass (the course's part B denoiser; pixels are not scaled by √ᾱ as a DDPM's are).
    func denoiseInOneStep(_ r: EditRequest, _ x0: Tensor, _ rng: inout RandomSource) throws -> EditOutput {
        var out = EditOutput()
        let sigmas = r.sigma ?? denoiser.trainingSigma.map { [$0] } ?? []
        guard !sigmas.isEmpty, sigmas.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw DiffusionError.invalidRequest("sigma must be one or more noise levels ≥ 0, got \(sigmas)")
        }
        let cond = try conditioning(r.prompt, count: 1)
        let scale = denoiser.pixelRange.upperBound - denoiser.pixelRange.lowerBound
        for sigma in sigmas {
            let z = rng.gaussian(x0.shape)
            let noisy = Tensor(uninitialized: x0.shape)
            for i in 0..<noisy.count { noisy.pointer[i] = x0.pointer[i] + Float(sigma) * scale * z.pointer[i] }
            let blurred = try GaussianBlur.apply(toPixels(noisy), size: r.blurKernel, sigma: r.blurSigma)
            let clean = toPixels(try denoiser.predict(noisy, t: sigma, conditioning: cond).output)
            let label = "sigma=" + String(format: "%g", sigma)
            out.images.append(clean)
            out.labels.append(label)
            out.rows.append([("noisy " + label, toPixels(noisy)), ("gaussian blur", blurred), ("one-step", clean)])
            out.frames.append((sigma, toPixels(noisy), clean))
        }
        return out
    }

    func sdedit(_ r: EditRequest, _ x0: Tensor, _ rng: inout RandomSource) throws -> EditOutput {
        var out = EditOutput()
        let estimator = Guidance.estimator(denoiser, conditioning: try conditioning(r.prompt, count: 1), scale: r.guidance)
        var row: [(String, Tensor)] = []
        if denoiser.prediction == .flow {
            for s in flowStrengths(r) {
                guard s > 0, s <= 1 else { throw DiffusionError.invalidRequest("strength must be in (0, 1], got \(s)") }
                let start = 1 - s
                let xt = rng.gaussian(x0.shape)
                for i in 0..<xt.count { xt.pointer[i] = Float(1 - start) * xt.pointer[i] + Float(start) * x0.pointer[i] }
                let result = toPixels(try flowSample(r, from: xt, start: start, estimator: estimator, output: &out, label: "strength \(s)"))
                out.images.append(result)
                out.labels.append(String(format: "strength %.2f", s))
                row.append((out.labels.last!, result))
            }
        } else {
            let ts = fullTimesteps(r)
            for level in try sdeditLevels(r) {
                guard level >= 0, level < ts.count - 1 else {
                    throw DiffusionError.invalidRequest("noise level \(level) is outside 0…\(ts.count - 2) (\(ts.count - 1) strided steps at stride \(r.stride))")
                }
                let xt = ForwardProcess.noise(x0, t: ts[level], schedule: denoiser.schedule, rng: &rng)
                let result = toPixels(try sample(r, from: xt, timesteps: Array(ts[level...]), estimator: estimator, rng: &rng,
                                                 output: &out, label: "level \(level)"))
                out.images.append(result)
                out.labels.append("level \(level) (t=\(ts[level]))")
                row.append(("level \(level)", result))
            }
        }
        row.append(("original", toPixels(x0)))
        out.rows = [row]
        return out
    }

    func inpaint(_ r: EditRequest, _ x0: Tensor, mask: Tensor, _ rng: inout RandomSource) throws -> EditOutput {
        var out = EditOutput()
        let count = r.count
        let originals = try Guidance.concatBatch(Array(repeating: x0, count: count))
        // Mask per pixel (1 = regenerate), broadcast over channels and samples.
        let plane = denoiser.imageSize * denoiser.imageSize
        let m = Tensor(uninitialized: originals.shape)
        for i in 0..<m.count { m.pointer[i] = mask.pointer[i % plane] >= 0.5 ? 1 : 0 }
        let estimator = Guidance.estimator(denoiser, conditioning: try conditioning(r.prompt, count: count), scale: r.guidance)
        let schedule = denoiser.schedule
        var projectionRng = RandomSource(seed: r.seed ^ 0x1A2B_3C4D)
        func keep(_ x: Tensor, _ known: Tensor) -> Tensor {
            let y = Tensor(uninitialized: x.shape)
            for i in 0..<y.count { y.pointer[i] = m.pointer[i] * x.pointer[i] + (1 - m.pointer[i]) * known.pointer[i] }
            return y
        }
        let x = try sample(r, from: rng.gaussian(originals.shape), timesteps: fullTimesteps(r), estimator: estimator, rng: &rng,
                           output: &out, label: "inpaint") { x, t in
            keep(x, ForwardProcess.noise(originals, t: t, schedule: schedule, rng: &projectionRng))
        }
        out.images = splitSamples(keep(x, originals))
        out.labels = (1...count).map { "sample \($0)" }
        let overlay = toPixels(x0)
        for i in 0..<overlay.count where mask.pointer[i % plane] >= 0.5 { overlay.pointer[i] = 0.5 * overlay.pointer[i] + 0.5 }
        out.rows = [[("original", toPixels(x0)), ("mask", overlay)] + zip(out.labels, out.images).map { ($0, $1) }]
        return out
    }

    func anagram(_ r: EditRequest, _ rng: inout RandomSource) throws -> EditOutput {
        guard r.prompts.count == 2 else { throw DiffusionError.invalidRequest("anagram needs exactly two prompts") }
        if r.view == .negate, denoiser.pixelRange.lowerBound != -denoiser.pixelRange.upperBound {
            throw DiffusionError.invalidRequest("view 'negate' needs a model whose pixel range is symmetric around 0; \(denoiser.name) uses \(denoiser.pixelRange)")
        }
        var out = EditOutput()
        let (c1, c2) = (try conditioning(r.prompts[0], count: r.count), try conditioning(r.prompts[1], count: r.count))
        let estimator = EditEstimators.anagram(denoiser, c1, c2, view: r.view, weight: r.weight, guidance: r.guidance)
        let x = try sample(r, from: rng.gaussian(shape(r.count)), timesteps: fullTimesteps(r), estimator: estimator, rng: &rng,
                           output: &out, label: "anagram")
        out.images = splitSamples(x)
        out.labels = (1...r.count).map { "sample \($0)" }
        out.rows = out.images.map { [("upright: \(r.prompts[0])", $0), ("\(r.view.rawValue): \(r.prompts[1])", r.view.apply($0))] }
        return out
    }

    func hybrid(_ r: EditRequest, _ rng: inout RandomSource) throws -> EditOutput {
        guard r.prompts.count == 2 else { throw DiffusionError.invalidRequest("hybrid needs exactly two prompts") }
        var out = EditOutput()
        let (c1, c2) = (try conditioning(r.prompts[0], count: r.count), try conditioning(r.prompts[1], count: r.count))
        let estimator = EditEstimators.hybrid(denoiser, c1, c2, kernel: r.hybridKernel, sigma: r.hybridSigma, guidance: r.guidance)
        let x = try sample(r, from: rng.gaussian(shape(r.count)), timesteps: fullTimesteps(r), estimator: estimator, rng: &rng,
                           output: &out, label: "hybrid")
        out.images = splitSamples(x)
        out.labels = (1...r.count).map { "sample \($0)" }
        return out
    }

    func validate(_ ts: [Int], _ field: String) throws {
        guard !ts.isEmpty else { throw DiffusionError.invalidRequest("\(field) needs at least one timestep") }
        let maxT = denoiser.schedule.maxTimestep
        if let bad = ts.first(where: { $0 < 1 || $0 > maxT }) {
            throw DiffusionError.invalidRequest("\(field) value \(bad) is outside 1…\(maxT)")
        }
    }
}

/// w·a + (1 − w)·b.
func blend(_ a: Tensor, _ b: Tensor, _ w: Float) -> Tensor {
    let out = Tensor(uninitialized: a.shape)
    for i in 0..<out.count { out.pointer[i] = w * a.pointer[i] + (1 - w) * b.pointer[i] }
    return out
}
