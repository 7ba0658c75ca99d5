import Foundation
import DarkroomDiffusion
import DarkroomImaging
import DarkroomTensor
import DarkroomJobModel

/// Writes a job's files: `result.png` (or `result-<k>.png`), `comparison.png`, `progress.gif`, inputs.
struct ResultWriter {
    let folder: String
    let request: EditRequest
    let model: String
    let size: Int
    /// The inputs' paths relative to `folder`, recorded in the `darkroom` chunk for a re-run.
    var inputs: (image: String?, mask: String?) = (nil, nil)

    func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }

    /// The PNG text chunks: `parameters` in the usual prompt-then-settings form and `darkroom` with the job's JSON
    /// (`ResultChunk`).
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
        let chunk = ResultChunk(request: request, model: model, image: inputs.image, mask: inputs.mask)
        return [("parameters", prompt + "\n" + settings), (ResultChunk.keyword, (try? chunk.text()) ?? "{}")]
    }

    /// `progress.gif`: x_t beside x̂₀ per frame, enlarged so that small models are viewable; nil without frames.
    ///
    /// An upscaled job's GIF goes on through stage II (`upscaleFrames`) for the images whose upscale it follows: each
    /// stage II frame shows those images as far as they are (upscaled, upscaling, or still stage I's), all at stage
    /// II's size; its stage I frames show the same images.
    func writeGIF(_ frames: [(xt: Tensor, x0: Tensor)], upscaleFrames: [(index: Int, t: Double, xt: Tensor, x0: Tensor)] = [],
                  stageOne: [Tensor] = [], results: [Tensor] = []) throws -> String? {
        guard !frames.isEmpty || !upscaleFrames.isEmpty else { return nil }
        let shown = upscaleFrames.isEmpty ? Int.max : (upscaleFrames.map(\.index).max() ?? 0) + 1
        var rows: [[Tensor]] = frames.map { frame in
            (0..<min(frame.xt.shape[0], shown)).flatMap { [frame.xt.slice(batch: $0..<($0 + 1)), frame.x0.slice(batch: $0..<($0 + 1))] }
        }
        for frame in upscaleFrames {
            rows.append((0..<shown).flatMap { j -> [Tensor] in
                j < frame.index ? [results[j], results[j]] : j == frame.index ? [frame.xt, frame.x0] : [stageOne[j], stageOne[j]]
            })
        }
        let side = ImageGrid.displaySide(Array(Set(rows.flatMap { $0.map { $0.shape[2] } })), target: 112)
        let images = rows.map { row in ImageGrid.compose([row.map { ImageGrid.shown($0, side: side) }], gap: 1) }
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
            let side = ImageGrid.displaySide(Array(Set(rows.flatMap { $0.map { $0.image.shape[2] } })), target: 112)
            let labelled = rows.map { row in row.map { (label: $0.label, image: ImageGrid.shown($0.image, side: side)) } }
            try PNGWriter.write(ImageGrid.composeLabelled(labelled), to: path(JobFiles.comparison))
            written.append(JobResult(kind: .comparison, path: path(JobFiles.comparison)))
        }
        if let gif = try writeGIF(output.frames.map { ($0.xt, $0.x0) }, upscaleFrames: output.upscaleFrames, stageOne: output.stageOne,
                                  results: output.images) {
            written.append(JobResult(kind: .gif, path: gif))
        }
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
