import Foundation
import DarkroomJobs
import DarkroomStore

extension Intake {
    /// The longest error text kept in a note, a record and a page.
    static let maxErrorCharacters = 2_000

    /// Moves the sidecar and the inputs it names or implies to `inbox/rejected/` beside a note, and records the
    /// rejection. Inputs are moved only when they are files inside the inbox under names Darkroom may take (never a
    /// folder, a link's target, another sidecar or one of Darkroom's own folders).
    func reject(_ name: String, sidecar: Sidecar?, reason: Error) {
        var message = "\(reason)"
        if message.count > Intake.maxErrorCharacters { message = String(message.prefix(Intake.maxErrorCharacters)) + "…" }
        let stem = String(name.dropLast(5))
        do {
            let rejected = try inbox.subfolder(FolderLayout.rejected, mode: inbox.accessPermissions)
            let (movedAs, files) = try moveDrop(name, candidates: rejectionCandidates(name, sidecar: sidecar), into: rejected)
            var note: [String: Any] = ["sidecar": name, "moved_to": movedAs, "files": files, "error": message,
                                       "time": ISO8601DateFormatter().string(from: Date())]
            note["field"] = (reason as? JobError)?.field ?? NSNull()
            try Intake.writeNote(note, stem: movedAs, suffix: FolderLayout.errorNoteSuffix, in: rejected)
            var hasher = ContentHash()
            hasher.add(Data("rejected \(name) \(Date().timeIntervalSince1970) \(UInt64.random(in: 0...UInt64.max))".utf8))
            var record = Job(name: stem, mode: sidecar?.resolvedMode.rawValue ?? "-", model: "-", prompt: "", seed: 0,
                                   request: nil, inputHash: hasher.hex, folder: rejected.path, state: .rejected)
            record.error = message
            record.finishedAt = Date()
            let (row, _) = try store.enqueue(record)
            DaemonLog.warning("rejected '\(JobError.quote(name))': \(JobError.quote(message, limit: 300))")
            onReject?(row)
        } catch {
            DaemonLog.error("could not reject '\(JobError.quote(name))' (\(JobError.quote(message, limit: 200))): \(error)")
            stuck[name] = inbox.entry(name)
        }
        forget([name])
    }

    /// Moves a duplicate drop to `inbox/duplicates/` beside a note naming the job that already has this content.
    func setAside(_ name: String, inputs: [Input], duplicateOf original: Job) {
        do {
            let duplicates = try inbox.subfolder(FolderLayout.duplicates, mode: inbox.accessPermissions)
            let movedAs = try FileMover.move(name, from: inbox, to: duplicates)
            var files: [[String: String]] = [["file": name, "moved_to": movedAs]]
            for input in inputs {
                let n = try FileMover.move(input.name, from: input.folder, to: duplicates, expect: input.entry)
                files.append(["file": input.relative, "moved_to": n])
            }
            let note: [String: Any] = ["sidecar": name, "moved_to": movedAs, "files": files, "duplicate_of": original.id!,
                                       "original": original.name, "time": ISO8601DateFormatter().string(from: Date())]
            try Intake.writeNote(note, stem: movedAs, suffix: FolderLayout.duplicateNoteSuffix, in: duplicates)
            DaemonLog.info("'\(JobError.quote(name))' has the same content as job \(original.id!); moved to inbox/duplicates")
        } catch {
            DaemonLog.error("could not set aside the duplicate '\(JobError.quote(name))': \(error)")
            stuck[name] = inbox.entry(name)
        }
        forget([name] + inputs.map(\.relative))
    }

    /// The inputs a rejected sidecar names (when those names are valid) and `NAME.png` beside `NAME.json`.
    func rejectionCandidates(_ name: String, sidecar: Sidecar?) -> [String] {
        var paths: [String] = []
        if let sidecar {
            paths = [sidecar.imagePath(sidecarName: name) { self.inbox.entry($0) != nil }, sidecar.mask].compactMap { $0 }
        } else if let data = try? inbox.read(name, limit: SidecarLimits.sidecarBytes).data,
                  let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] {
            for key in ["image", "mask"] {
                if let raw = object[key] as? String, let p = try? Sidecar.inputPath(raw, field: key) { paths.append(p) }
            }
        }
        for implied in FolderLayout.impliedImages(sidecarName: name) where !paths.contains(implied) { paths.append(implied) }
        return paths
    }

    /// Moves the sidecar (first: it is the drop) and then each candidate that is a non-folder entry inside the
    /// inbox (a link to a folder is the user's way into it, and stays) into `folder`; returns the sidecar's new name and what moved where.
    func moveDrop(_ name: String, candidates: [String], into folder: FolderHandle) throws -> (String, [[String: String]]) {
        let movedAs = try FileMover.move(name, from: inbox, to: folder)
        var files: [[String: String]] = [["file": name, "moved_to": movedAs]]
        for relative in candidates {
            var parts = relative.split(separator: "/").map(String.init)
            let last = parts.removeLast()
            var parent: FolderHandle? = inbox
            for part in parts {
                guard let p = parent, p.kind(of: part) == .directory else { parent = nil; break }
                parent = try? p.subfolder(part, create: false)
            }
            guard let parent, let entry = parent.entry(last), entry.kind != .directory,
                  entry.kind != .symlink || !parent.isFolderThroughLink(last) else { continue }
            let n = try FileMover.move(last, from: parent, to: folder)
            files.append(["file": relative, "moved_to": n])
            forget([relative])
        }
        return (movedAs, files)
    }

    /// Writes `STEM.error.json` (or `.duplicate.json`) beside the moved sidecar; long stems are shortened.
    static func writeNote(_ object: [String: Any], stem movedAs: String, suffix: String, in folder: FolderHandle) throws {
        let stem = movedAs.hasSuffix(".json") ? String(movedAs.dropLast(5)) : movedAs
        let noteName = FileMover.freeName(FolderLayout.noteStem(stem) + suffix, in: folder)
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try AtomicFile.write(data, to: folder.child(noteName))
    }
}
