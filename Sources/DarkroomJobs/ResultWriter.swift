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
    /// `side` is the image's (an upscaled result's is stage II's size); `upscaler` names the stage II model.
    func metadata(label: String, side: Int? = nil, upscaler: String? = nil) -> [(String, String)] {
        let prompt = request.prompts.isEmpty ? request.prompt : request.prompts.joined(separator: " | ")
        let schedule = request.steps.map { "Steps: \($0)" } ?? "Stride: \(request.stride)"
        let s = side ?? size
        var settings = "\(schedule), CFG scale: \(request.guidance), Seed: \(request.seed), "
            + "Size: \(s)x\(s), Model: \(model), Mode: \(request.mode.rawValue)"
        if !request.noiseLevels.isEmpty { settings += ", Noise level: \(label)" }
        if let up = request.upscale, let upscaler {
            settings += ", Upscaler: \(upscaler), Upscale from: \(size)x\(size), Upscale steps: \(up.steps), "
                + "Upscale CFG scale: \(up.guidance), Upscale noise level: \(up.noiseLevel)"
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = (try? encoder.encode(request)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return [("parameters", prompt + "\n" + settings), ("darkroom", json)]
    }

    /// Tiles brought to one side for a sheet or a GIF: each enlarged (nearest) to the largest viewing size among them,
    /// so stage I's 64² and stage II's 256² sit side by side at the same scale as their pixels allow.
    static func sameSize(_ tiles: [Tensor], target: Int = 112) -> [Tensor] {
        let side = tiles.map { $0.shape[2] * ImageGrid.viewingFactor(size: $0.shape[2], target: target) }.max() ?? 1
        return tiles.map { tile in
            let h = tile.shape[2]
            if h == side { return tile }
            let enlarged = ImageResize.enlarge(tile, factor: (side + h - 1) / h)
            return enlarged.shape[2] == side ? enlarged : ImageResize.area(enlarged, size: side)
        }
    }

    /// `progress.gif`: x_t beside x̂₀ per frame, enlarged so that small models are viewable (an upscaled job's stage I
    /// frames to stage II's size); nil without frames.
    func writeGIF(_ frames: [(xt: Tensor, x0: Tensor)]) throws -> String? {
        guard !frames.isEmpty else { return nil }
        let rows = frames.map { frame in
            (0..<frame.xt.shape[0]).flatMap { [frame.xt.slice(batch: $0..<($0 + 1)), frame.x0.slice(batch: $0..<($0 + 1))] }
        }
        let sized = ResultWriter.sameSize(rows.flatMap { $0 })
        var next = 0
        let images = rows.map { row -> Tensor in
            defer { next += row.count }
            return ImageGrid.compose([Array(sized[next..<(next + row.count)])], gap: 1)
        }
        try GIFWriter.write(images, to: path(JobFiles.progressGIF))
        return path(JobFiles.progressGIF)
    }

    /// `preview.png`: the first sample's current x̂₀, enlarged, for a running job's page.
    func writePreview(_ x0: Tensor) throws {
        let first = x0.shape[0] > 1 ? x0.slice(batch: 0..<1) : x0
        try PNGWriter.write(ImageResize.enlarge(first, factor: ImageGrid.viewingFactor(size: first.shape[2], target: 112)), to: path(JobFiles.preview))
    }

    /// Writes the results (and an upscaled job's `stage1*.png`), the comparison sheet (an upscaled job's adds a row of
    /// stage I beside stage II per result), the GIF and the input copies.
    func write(_ output: EditOutput, image: Tensor?, mask: Tensor?, upscaler: String? = nil) throws -> [JobResult] {
        var written: [JobResult] = []
        for (k, (img, label)) in zip(output.images, output.labels).enumerated() {
            let name = JobFiles.result(k + 1, of: output.images.count)
            try PNGWriter.write(img, to: path(name), text: metadata(label: label, side: img.shape[2], upscaler: upscaler))
            written.append(JobResult(kind: .result, path: path(name), index: k + 1))
        }
        for (k, (img, label)) in zip(output.stageOne, output.labels).enumerated() {
            let name = JobFiles.stageOne(k + 1, of: output.stageOne.count)
            try PNGWriter.write(img, to: path(name), text: metadata(label: label, side: img.shape[2]))
            written.append(JobResult(kind: .stageOne, path: path(name), index: k + 1))
        }
        var rows = output.rows
        for (k, (small, large)) in zip(output.stageOne, output.images).enumerated() {
            let label = output.images.count > 1 ? " \(k + 1)" : ""
            rows.append([("stage I\(label) \(small.shape[2])px", small), ("stage II\(label) \(large.shape[2])px", large)])
        }
        if !rows.isEmpty {
            let sized = ResultWriter.sameSize(rows.flatMap { $0.map(\.image) })
            var next = 0
            let labelled = rows.map { row in
                row.map { tile -> (label: String, image: Tensor) in
                    defer { next += 1 }
                    return (tile.label, sized[next])
                }
            }
            try PNGWriter.write(ImageGrid.composeLabelled(labelled), to: path(JobFiles.comparison))
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
