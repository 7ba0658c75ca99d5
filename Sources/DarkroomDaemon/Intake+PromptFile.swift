import Foundation
import DarkroomJobs
import DarkroomJobModel
import DarkroomSupport

/// Prompt files: a `.txt` dropped into the folder of a preset whose mode starts from noise.
extension Intake {
    /// The most lines of prompts one file may queue.
    static let maxPromptLines = 1_000
    /// The largest prompt file read.
    static let promptFileBytes = 4 << 20

    /// Queues one job per non-empty line of the prompt file `name` (named `STEM-1`, `STEM-2`, …). Every line is
    /// checked, as a sidecar's prompt is, before any is queued: one bad line rejects the file, naming the line.
    /// Lines already queued (of this same file) are not queued again, so that a take interrupted part-way and tried
    /// again queues each line once; the file moves into the last new line's `inputs/`.
    func takePromptFile(key: String, name: String, in folder: FolderHandle, preset: Preset, now: Date) throws -> [Int64]? {
        let (data, entry) = try folder.read(name, limit: Intake.promptFileBytes)
        guard let text = String(data: data, encoding: .utf8) else {
            throw JobError(field: nil, "'\(JobError.quote(name))' is not UTF-8 text: write one prompt per line")
        }
        let lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .enumerated().filter { !$0.element.isEmpty }
        guard !lines.isEmpty else { throw JobError(field: nil, "'\(JobError.quote(name))' holds no prompt: write one per line") }
        guard lines.count <= Intake.maxPromptLines else {
            throw JobError(field: nil, "'\(JobError.quote(name))' has \(lines.count) prompts; the limit is \(Intake.maxPromptLines) per file")
        }
        let stem = (name as NSString).deletingPathExtension
        var drops: [(drop: Drop, hash: String)] = []
        for (k, (index, line)) in lines.enumerated() {
            var fields = preset.object
            do {
                if preset.sidecar.takesTwoPrompts {
                    let parts = line.components(separatedBy: " | ").map { $0.trimmingCharacters(in: .whitespaces) }
                    guard parts.count == 2, !parts.contains(where: \.isEmpty) else {
                        throw JobError(field: "prompts", "mode '\(preset.sidecar.resolvedMode.rawValue)' needs two prompts separated by ' | ', got '\(JobError.quote(line))'")
                    }
                    fields["prompts"] = parts
                } else {
                    fields["prompt"] = line
                }
                let sidecar = try Sidecar(object: fields)
                let model = try runner.prepare(sidecar, image: nil, mask: nil).model
                let canonical = try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
                // The file's bytes and the line's place are hashed too: a line repeated in the file is a job of its
                // own, the same file dropped again is a duplicate, and a take tried again finds the lines it queued.
                let drop = Drop(key: key, name: "\(stem)-\(k + 1)", preset: preset.name, fields: canonical, sidecar: sidecar, files: [],
                                hashed: [data, Data("line \(k + 1)".utf8)])
                drops.append((drop, contentHash(drop, model: model, inputs: [])))
            } catch let error as JobError {
                throw JobError(field: error.field, "line \(index + 1) of '\(JobError.quote(name))': \(error.message)")
            }
        }
        var fresh: [Drop] = []
        var original: Job?
        for (drop, hash) in drops {
            if let job = try store.job(inputHash: hash) { original = original ?? job } else { fresh.append(drop) }
        }
        let file = Input(field: "prompts", relative: key, folder: folder, name: name, data: data, entry: entry)
        guard !fresh.isEmpty else {
            setAside(key, inputs: [file], duplicateOf: original!)
            return nil
        }
        if original != nil { DaemonLog.info("'\(JobError.quote(key))': \(drops.count - fresh.count) of its prompts are queued already; queueing the other \(fresh.count)") }
        fresh[fresh.count - 1].files = [file]
        var queued: [Int64] = []
        for drop in fresh { if let id = try queue(drop, now: now) { queued.append(id) } }
        return queued
    }

    /// What makes two drops the same job: the model, the sidecar's fields (keys sorted) and the input files' bytes.
    func contentHash(_ drop: Drop, model: String, inputs: [Input]) -> String {
        var hasher = ContentHash()
        hasher.add(Data(model.utf8))
        hasher.add(Intake.canonical(drop.fields))
        for input in inputs { hasher.add(input.data) }
        for data in drop.hashed { hasher.add(data) }
        return hasher.hex
    }
}
