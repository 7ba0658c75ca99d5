import Foundation
import DarkroomDiffusion
import DarkroomImaging
import DarkroomTensor

/// Writes a job's files: `result.png` (or `result-<k>.png`), `comparison.png`, `progress.gif`, inputs.
struct ResultWriter {
    let folder: String
    let request: EditRequest
    let model: String
    let size: Int

    func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }

    /// The PNG text chunks: `parameters` in the usual prompt-then-settings form and `darkroom` with the job's JSON.
    func metadata(label: String) -> [(String, String)] {
        let prompt = request.prompts.isEmpty ? request.prompt : request.prompts.joined(separator: " | ")
        let schedule = request.steps.map { "Steps: \($0)" } ?? "Stride: \(request.stride)"
        var settings = "\(schedule), CFG scale: \(request.guidance), Seed: \(request.seed), "
            + "Size: \(size)x\(size), Model: \(model), Mode: \(request.mode.rawValue)"
        if !request.noiseLevels.isEmpty { settings += ", Noise level: \(label)" }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = (try? encoder.encode(request)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return [("parameters", prompt + "\n" + settings), ("darkroom", json)]
    }

    /// `progress.gif`: x_t beside x̂₀ per frame, enlarged so that small models are viewable; nil without frames.
    func writeGIF(_ frames: [(xt: Tensor, x0: Tensor)]) throws -> String? {
        guard !frames.isEmpty else { return nil }
        let factor = ImageGrid.viewingFactor(size: size, target: 112)
        let images = frames.map { frame -> Tensor in
            let pairs = (0..<frame.xt.shape[0]).map { [frame.xt.slice(batch: $0..<($0 + 1)), frame.x0.slice(batch: $0..<($0 + 1))] }
            return ImageResize.enlarge(ImageGrid.compose([pairs.flatMap { $0 }], gap: 1), factor: factor)
        }
        try GIFWriter.write(images, to: path(JobFiles.progressGIF))
        return path(JobFiles.progressGIF)
    }

    /// `preview.png`: the first sample's current x̂₀, enlarged, for a running job's page.
    func writePreview(_ x0: Tensor) throws {
        let first = x0.shape[0] > 1 ? x0.slice(batch: 0..<1) : x0
        try PNGWriter.write(ImageResize.enlarge(first, factor: ImageGrid.viewingFactor(size: size, target: 112)), to: path(JobFiles.preview))
    }

    func write(_ output: EditOutput, image: Tensor?, mask: Tensor?) throws -> [JobResult] {
        var written: [JobResult] = []
        for (k, (img, label)) in zip(output.images, output.labels).enumerated() {
            let name = JobFiles.result(k + 1, of: output.images.count)
            try PNGWriter.write(img, to: path(name), text: metadata(label: label))
            written.append(JobResult(kind: .result, path: path(name), index: k + 1))
        }
        let factor = ImageGrid.viewingFactor(size: size, target: 112)
        if !output.rows.isEmpty {
            let rows = output.rows.map { $0.map { (label: $0.label, image: ImageResize.enlarge($0.image, factor: factor)) } }
            try PNGWriter.write(ImageGrid.composeLabelled(rows), to: path(JobFiles.comparison))
            written.append(JobResult(kind: .comparison, path: path(JobFiles.comparison)))
        }
        if let gif = try writeGIF(output.frames.map { ($0.xt, $0.x0) }) { written.append(JobResult(kind: .gif, path: gif)) }
        if let image {
            try PNGWriter.write(image, to: path(JobFiles.inputCopy))
            written.append(JobResult(kind: .input, path: path(JobFiles.inputCopy)))
        }
        if let mask {
            try PNGWriter.write(mask, to: path(JobFiles.maskCopy))
            written.append(JobResult(kind: .mask, path: path(JobFiles.maskCopy)))
        }
        return written
    }
}
