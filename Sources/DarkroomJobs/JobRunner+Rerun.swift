import DarkroomJobModel
import DarkroomSupport
import Foundation

extension JobRunner {
    /// A job read back from the `darkroom` chunk of the result PNG at `path`, ready to run again: the same request
    /// (with `seed` instead, when given), the same model, the inputs the chunk names beside the PNG.
    ///
    /// Results written before the chunk named its inputs fall back on the job folder's `input.png` and `mask.png`
    /// (the cropped and resized copies: the same edit, not always the same bytes); `note` hears about it.
    public func prepare(resultPNG path: String, seed: UInt64? = nil, note: (String) -> Void = { _ in }) throws -> Prepared {
        let chunk = try ResultChunk.read(pngAt: path)
        var request = chunk.request
        if chunk.isLegacy, ([request.prompt] + request.prompts).contains(where: { $0.contains("?") }) {
            note("\(path) was written before results kept their prompts exactly: a '?' in its prompt may stand for a character beyond Latin-1")
        }
        if let seed { request.seed = seed }
        let model = chunk.model ?? config.defaultModel
        let folder = (path as NSString).deletingLastPathComponent
        func locate(_ recorded: String?, copy: String, field: String, needed: Bool) throws -> String? {
            if let recorded {
                guard JobFile.isSafeRelativeName(recorded) else {
                    throw JobError(field: field, "\(path) names its \(field) '\(JobError.quote(recorded))', which is not a path inside its folder")
                }
                let full = (folder as NSString).appendingPathComponent(recorded)
                guard FileManager.default.fileExists(atPath: full) else {
                    throw JobError(field: field, "the job's \(field) '\(JobError.quote(recorded))' is not beside \(path) any more; a re-run needs the result's job folder as the job left it")
                }
                return full
            }
            guard needed else { return nil }
            let full = (folder as NSString).appendingPathComponent(copy)
            guard FileManager.default.fileExists(atPath: full) else {
                throw JobError(field: field, "\(path) does not say where its \(field) is and there is no \(copy) beside it")
            }
            note("\(path) predates recorded inputs: using \(copy), the \(field) as the model saw it (the same edit, not always the same bytes)")
            return full
        }
        let image = try locate(chunk.image, copy: JobFiles.inputCopy, field: "image", needed: request.mode.takesImage)
        let mask = try locate(chunk.mask, copy: JobFiles.maskCopy, field: "mask", needed: request.mode.takesMask)
        _ = try config.modelPath(model)
        return Prepared(request: request, model: model, image: image, mask: mask)
    }
}
