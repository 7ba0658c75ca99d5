import Foundation
import DarkroomJobs
import DarkroomJobModel
import DarkroomStore
import DarkroomSupport

extension Intake {
    /// The longest error text kept in a note, a record and a page.
    static let maxErrorCharacters = 2_000

    /// Moves the sidecar and the inputs it names or implies to `inbox/rejected/` beside a note, and records the
    /// rejection. Inputs are moved only when they are files inside the inbox under names Darkroom may take (never a
    /// folder, a link's target, another sidecar or one of Darkroom's own folders).
    func reject(_ name: String, sidecar: Sidecar?, reason: Error) {
        reject(name, jobName: String(name.dropLast(5)), mode: sidecar?.resolvedMode.rawValue, preset: nil,
               candidates: rejectionCandidates(name, sidecar: sidecar), reason: reason)
    }

    /// Moves the drop whose file is `key` (relative to the inbox) and the `candidates` that came with it to
    /// `inbox/rejected/` beside a note, and records the rejection as job `jobName`.
    func reject(_ key: String, jobName: String, mode: String?, preset: String?, candidates: [String], reason: Error) {
        var message = "\(reason)"
        if message.count > Intake.maxErrorCharacters { message = String(message.prefix(Intake.maxErrorCharacters)) + "…" }
        var hasher = ContentHash()
        hasher.add(Data("rejected \(key) \(Date().timeIntervalSince1970) \(UInt64.random(in: 0...UInt64.max))".utf8))
        var record = Job(name: jobName, mode: mode ?? "-", model: "-", prompt: "", seed: 0,
                         parameters: .rejection, inputHash: hasher.hex, folder: "", state: .rejected)
        record.error = message
        record.finishedAt = Date()
        record.preset = preset
        let note = SetAsideNote(sidecar: key, time: ISO8601DateFormatter().string(from: Date()), error: message,
                                field: (reason as? JobError)?.field)
        if setAside(key, as: .rejected, candidates: candidates, note: note, record: record) {
            DaemonLog.warning("rejected '\(JobError.quote(key))': \(JobError.quote(message, limit: 300))")
        }
    }

    /// The entry at `relative` below the inbox, reached through real folders only.
    func entry(relative: String) -> FolderHandle.Entry? {
        guard let (folder, name) = inbox.descend(relative) else { return nil }
        return folder.entry(name)
    }

    /// Moves a duplicate drop to `inbox/duplicates/` beside a note naming the job that already has this content.
    func setAside(_ name: String, inputs: [Input], duplicateOf original: Job) {
        let note = SetAsideNote(sidecar: name, time: ISO8601DateFormatter().string(from: Date()), duplicateOf: original.id!, original: original.name)
        // The inputs are known as they were read and hashed: the files moved are those, never a file swapped in since.
        let hashed = Dictionary(inputs.map { ($0.relative, $0.entry) }, uniquingKeysWith: { first, _ in first })
        if setAside(name, as: .duplicate, candidates: inputs.map(\.relative), known: hashed, note: note, record: nil) {
            DaemonLog.info("'\(JobError.quote(name))' has the same content as job \(original.id!); moved to inbox/duplicates")
        }
        forgetSettling(inputs.map(\.relative))
    }

    /// Decides the move (a manifest in the target folder names every file by device and inode), then does it.
    /// Returns false when it could not be finished now: before the manifest is written nothing moved and the drop is
    /// not tried again until it changes; after, what is left is finished by a later scan or the next start.
    /// `known`: entries of candidates as they were read (a duplicate's hashed inputs), kept over what is there now.
    func setAside(_ name: String, as kind: SetAsideManifest.Kind, candidates: [String], known: [String: FolderHandle.Entry] = [:],
                  note: SetAsideNote, record: Job?) -> Bool {
        defer { forgetSettling([name]) }
        let target = kind == .rejected ? FolderLayout.rejected : FolderLayout.duplicates
        let folder: FolderHandle, manifest: SetAsideManifest, manifestName = FolderLayout.setAsideManifestName()
        do {
            folder = try inbox.subfolder(target, mode: inbox.accessPermissions)
            guard let entry = known[name] ?? entry(relative: name) else { return false }  // gone meanwhile: nothing to move
            var files = [SetAsideManifest.File(from: name, device: entry.device, inode: entry.inode)]
            for relative in candidates where !files.contains(where: { $0.from == relative }) {
                // A folder, or a link to one (the user's way into it), stays.
                guard let (parent, last) = inbox.descend(relative), let now = parent.entry(last), now.kind != .directory,
                      now.kind != .symlink || !parent.isFolderThroughLink(last) else { continue }
                let e = known[relative] ?? now
                files.append(.init(from: relative, device: e.device, inode: e.inode))
            }
            var record = record
            record?.folder = folder.path
            manifest = SetAsideManifest(kind: kind, sidecar: name, files: files, note: note, record: record)
            try manifest.write(manifestName, in: folder)
            forgetSettling(files.map(\.from))
        } catch {
            DaemonLog.error("could not move '\(JobError.quote(name))' to inbox/\(target): \(error)")
            stuck[name] = entry(relative: name)
            return false
        }
        do {
            if let row = try SetAside.complete(manifest, named: manifestName, in: folder, inbox: inbox, store: store) { onReject?(row) }
            return true
        } catch {
            DaemonLog.error("moving '\(JobError.quote(name))' to inbox/\(target) stopped part-way, will finish it later: \(error)")
            pendingSetAsides.append(.init(folder: folder, manifest: manifestName, after: Date().addingTimeInterval(Intake.retryDelay)))
            return false
        }
    }

    /// Finishes set-asides that stopped part-way (a full disk, the database away), each at most every `retryDelay`.
    func finishPendingSetAsides(now: Date) {
        guard !pendingSetAsides.isEmpty else { return }
        var still: [PendingSetAside] = []
        for pending in pendingSetAsides {
            guard now >= pending.after else { still.append(pending); continue }
            guard let manifest = SetAsideManifest.read(pending.manifest, in: pending.folder) else { continue }
            do {
                if let row = try SetAside.complete(manifest, named: pending.manifest, in: pending.folder, inbox: inbox, store: store) { onReject?(row) }
                DaemonLog.info("finished moving '\(JobError.quote(manifest.sidecar))' to \(pending.folder.path)")
            } catch {
                DaemonLog.error("moving '\(JobError.quote(manifest.sidecar))' to \(pending.folder.path) still cannot finish: \(error)")
                still.append(.init(folder: pending.folder, manifest: pending.manifest, after: now.addingTimeInterval(Intake.retryDelay)))
            }
        }
        pendingSetAsides = still
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
}
