import DarkroomDiffusion
import DarkroomImaging
import DarkroomModels
import DarkroomTensor
import Foundation
import DarkroomJobModel

/// The pictures of a training run, written after every epoch: `loss.png`, `samples.png`, `denoising.gif`.
public enum TrainingReport {
    /// Draws the loss curve from `OUT/loss.csv` and samples from the model folder into `out`.
    public static func write(out: String, modelFolder: String, seed: UInt64 = 0) throws {
        let csv = (try? String(contentsOfFile: (out as NSString).appendingPathComponent("loss.csv"), encoding: .utf8)) ?? ""
        let losses = csv.split(separator: "\n").dropFirst().compactMap { $0.split(separator: ",").last.flatMap { Double($0) } }
        let unet = try TinyUNet(checkpoint: modelFolder)
        let config = unet.config
        try PNGWriter.write(LinePlot.render(losses, title: "training loss (\(config.objective), D=\(config.hidden))"),
                            to: (out as NSString).appendingPathComponent("loss.png"))
        let factor = ImageGrid.viewingFactor(size: config.imageSize, target: 84)
        var rows: [[(label: String, image: Tensor)]] = []
        var frames: [Tensor] = []
        if config.objective == "denoise" {
            // The course's σ sweep: one test-like input noised at each σ and denoised in one step.
            var rng = RandomSource(seed: seed)
            let clean = rng.uniform([1, config.channels, 28, 28])
            var noisy: [(String, Tensor)] = [], denoised: [(String, Tensor)] = []
            for sigma: Float in [0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0] {
                let z = rng.gaussian(clean.shape)
                let x = Tensor(uninitialized: clean.shape)
                for i in 0..<x.count { x.pointer[i] = clean.pointer[i] + sigma * z.pointer[i] }
                let y = try unet.forward(x, t: Tensor(repeating: sigma, shape: [1, 1]))
                noisy.append((String(format: "s=%.1f", sigma), clamp(x)))
                denoised.append(("denoised", clamp(y)))
            }
            rows = [noisy, denoised]
        } else {
            let denoiser = try TinyUNetDenoiser(unet)
            let classes = config.classes.isEmpty ? [""] : config.classes
            let perRow = config.classes.isEmpty ? 8 : 4
            for (k, name) in classes.enumerated() {
                var r = EditRequest(mode: .generate)
                r.prompt = name
                r.count = perRow
                r.guidance = config.classes.isEmpty ? 1 : Float(config.defaultGuidance ?? 5)
                r.seed = seed &+ UInt64(k)
                r.steps = config.objective == "flow" ? 50 : nil
                let output = try Editor(denoiser: denoiser).run(r)
                rows.append(output.images.map { (name.isEmpty ? "sample" : name, $0) })
                if k == 0 {
                    frames = output.frames.map { frame in
                        ImageResize.enlarge(ImageGrid.compose([[frame.xt, frame.x0]], gap: 1), factor: factor)
                    }
                }
            }
        }
        let sheet = ImageGrid.composeLabelled(rows.map { $0.map { ($0.0, ImageResize.enlarge($0.1, factor: factor)) } })
        try PNGWriter.write(sheet, to: (out as NSString).appendingPathComponent("samples.png"))
        if !frames.isEmpty { try GIFWriter.write(frames, to: (out as NSString).appendingPathComponent("denoising.gif")) }
    }

    static func clamp(_ x: Tensor) -> Tensor {
        let out = x.copy()
        for i in 0..<out.count { out.pointer[i] = min(max(out.pointer[i], 0), 1) }
        return out
    }
}
