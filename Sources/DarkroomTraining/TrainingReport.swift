import DarkroomDiffusion
import DarkroomImaging
import DarkroomModels
import DarkroomTensor
import Foundation
import DarkroomJobModel

/// The pictures of a training run, written after every epoch: `loss.png`, `samples.png`, `denoising.gif`.
public enum TrainingReport {
    /// Draws the loss curve from `OUT/loss.csv` and samples from the model folder into `out`. A single-step denoiser's
    /// figures use the test split of `data` (its training split when it has none).
    public static func write(out: String, modelFolder: String, seed: UInt64 = 0, data: String? = nil) throws {
        let csv = (try? String(contentsOfFile: (out as NSString).appendingPathComponent("loss.csv"), encoding: .utf8)) ?? ""
        let losses = csv.split(separator: "\n").dropFirst().compactMap { $0.split(separator: ",").last.flatMap { Double($0) } }
        let unet = try TinyUNet(checkpoint: modelFolder)
        let config = unet.config
        try PNGWriter.write(LinePlot.render(losses, title: "training loss (\(config.objective), D=\(config.hidden))"),
                            to: (out as NSString).appendingPathComponent("loss.png"))
        let factor = ImageGrid.viewingFactor(size: config.imageSize, target: 84)
        var rows: [[(label: String, image: Tensor)]] = []
        var frames: [Tensor] = []
        if config.predictsCleanImage {
            let test = try data.map { try DenoiserReport.testImages(data: $0) }
            rows = config.objective == "denoise"
                ? try DenoiserReport.sigmaSweep(unet, images: test, out: out, seed: seed)
                : try DenoiserReport.pureNoiseSamples(unet, images: test, seed: seed)
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
