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

    func write(_ output: EditOutput, image: Tensor?, mask: Tensor?) throws -> [String] {
        var written: [String] = []
        for (k, (img, label)) in zip(output.images, output.labels).enumerated() {
            let name = output.images.count == 1 ? "result.png" : "result-\(k + 1).png"
            try PNGWriter.write(img, to: path(name), text: metadata(label: label))
            written.append(path(name))
        }
        let factor = ImageGrid.viewingFactor(size: size, target: 112)
        if !output.rows.isEmpty {
            let rows = output.rows.map { $0.map { (label: $0.label, image: ImageResize.enlarge($0.image, factor: factor)) } }
            try PNGWriter.write(ImageGrid.composeLabelled(rows), to: path("comparison.png"))
            written.append(path("comparison.png"))
        }
        if !output.frames.isEmpty {
            // x_t beside x̂₀, enlarged so that small models are viewable.
            let frames = output.frames.map { frame -> Tensor in
                let pairs = (0..<frame.xt.shape[0]).map { [frame.xt.slice(batch: $0..<($0 + 1)), frame.x0.slice(batch: $0..<($0 + 1))] }
                return ImageResize.enlarge(ImageGrid.compose([pairs.flatMap { $0 }], gap: 1), factor: factor)
            }
            try GIFWriter.write(frames, to: path("progress.gif"))
            written.append(path("progress.gif"))
        }
        if let image {
            try PNGWriter.write(image, to: path("input.png"))
            written.append(path("input.png"))
        }
        if let mask {
            try PNGWriter.write(mask, to: path("mask.png"))
            written.append(path("mask.png"))
        }
        return written
    }
}
