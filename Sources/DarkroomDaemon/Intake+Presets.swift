import Foundation
import DarkroomJobs
import DarkroomJobModel
import DarkroomSupport

/// Drops in preset folders (`inbox/<preset>/`, any depth): files without a sidecar of their own.
///
/// An image is its own commit marker: once it has settled it becomes a job with the preset's fields, named after the
/// file. `NAME.json` beside it adds to and overrides those fields; for a mode that takes a mask, `NAME.mask.png` beside
/// it is its mask, waited for `image_wait_seconds`. In a preset whose mode starts from noise, each non-empty line of a
/// `.txt` file is a job (its prompt; for anagram and hybrid two prompts separated by ` | `), and `NAME.json` alone is
/// one job of the preset's fields and its own.
extension Intake {
    /// Creates `inbox/<preset>/` for each preset, with the inbox's owner, group and mode.
    public func createPresetFolders() {
        var s = stat()
        let owned = fstat(inbox.fd, &s) == 0
        for name in config.presets.keys.sorted() where inbox.kind(of: name) == .missing {
            do {
                let folder = try inbox.subfolder(name, mode: inbox.accessPermissions)
                if owned, geteuid() == 0 { fchown(folder.fd, s.st_uid, s.st_gid) }
                DaemonLog.info("created \(folder.path) for preset '\(JobError.quote(name))'")
            } catch {
                DaemonLog.warning("preset '\(JobError.quote(name))': \(error)")
            }
        }
    }

    /// Looks at the preset folders (`full`: all of them; otherwise those the watcher's events touched, those holding
    /// drops still settling or waiting, and those without a watch); returns the ids of jobs queued.
    func scanPresets(now: Date, full: Bool = true) -> [Int64] {
        var queued: [Int64] = []
        var pending = Set<String>()
        for key in firstSeen.keys where Intake.isNested(key) { pending.insert(Intake.preset(of: key)) }
        for key in retryAfter.keys where Intake.isNested(key) { pending.insert(Intake.preset(of: key)) }
        var walked = Set<String>()
        for name in config.presets.keys.sorted() {
            guard full || touchedPresets.contains(name) || pending.contains(name) || unwatchedPresets.contains(name) else { continue }
            guard let preset = config.presets[name], inbox.kind(of: name) == .directory,
                  let folder = try? inbox.subfolder(name, create: false) else { continue }
            walked.insert(name)
            unwatchedPresets.remove(name)   // until a watch is refused again
            walk(folder, relative: name, depth: 0) { folder, relative, names in
                queued += scan(folder, relative: relative, names: names, preset: preset, now: now)
            }
        }
        touchedPresets.removeAll()
        // What is gone from the folders just walked is forgotten (a full scan forgets the rest).
        if !full, !walked.isEmpty {
            for key in Set(firstSeen.keys).union(retryAfter.keys).union(observed.keys).union(stuck.keys).union(waitingToDecode)
            where Intake.isNested(key) && walked.contains(Intake.preset(of: key)) && entry(relative: key) == nil {
                forgetGone(key)
            }
        }
        return queued
    }

    /// The preset folder a nested key is in: its first component.
    static func preset(of key: String) -> String { String(key.prefix { $0 != "/" }) }

    /// Calls `body` with `folder` and every real sub-folder below it (no link followed, ignored folders left out).
    /// Each folder walked is watched, so that later drops into it wake a scan of its preset.
    func walk(_ folder: FolderHandle, relative: String, depth: Int, _ body: (FolderHandle, String, Set<String>) -> Void) {
        if let watcher, let error = watcher.watch(folder, relative: relative) {
            let preset = Intake.preset(of: relative)
            unwatchedPresets.insert(preset)
            if warnedUnwatched.insert(preset).inserted {
                DaemonLog.warning("cannot watch \(folder.path) (\(String(cString: strerror(error))); raise fs.inotify.max_user_watches): preset '\(JobError.quote(preset))' is scanned twice a second instead")
            }
        }
        let (listed, foreign) = folder.listing()
        if !foreign.isEmpty { renameForeignNames(in: folder, foreign, relative: relative, folders: true) }
        let names = Set(listed)
        body(folder, relative, names)
        guard depth < FolderLayout.presetFolderDepth else { return }
        for name in names.sorted() where !config.ignore.ignoresFolder(name) && folder.kind(of: name) == .directory {
            guard let sub = try? folder.subfolder(name, create: false) else { continue }
            walk(sub, relative: relative + "/" + name, depth: depth + 1, body)
        }
    }

    /// The drops of one folder of a preset.
    func scan(_ folder: FolderHandle, relative: String, names: Set<String>, preset: Preset, now: Date) -> [Int64] {
        var queued: [Int64] = []
        for name in names.sorted() where !config.ignore.ignoresFile(name) {
            let key = relative + "/" + name
            guard let entry = folder.entry(name), entry.kind == .regular else { continue }
            if let was = stuck[key] {
                if was == entry { continue }
                stuck[key] = nil
            }
            if let later = retryAfter[key], now < later { continue }
            let lower = name.lowercased()
            let kind: PresetDropKind
            if FolderLayout.isMaskName(name) {
                continue  // a mask is never a job: it waits for its image
            } else if FolderLayout.isImageName(name) {
                kind = .image
            } else if lower.hasSuffix(".json") {
                // A sidecar beside an image goes with the image.
                if FolderLayout.impliedImages(sidecarName: name).contains(where: names.contains) { continue }
                kind = .sidecar
            } else if lower.hasSuffix(".txt"), !preset.takesImage {
                kind = .promptFile
            } else {
                continue
            }
            if firstSeen[key] == nil { firstSeen[key] = now }
            guard settled(key, entry, now: now, quiet: kind != .image) else { continue }
            if let id = take(kind, key: key, name: name, in: folder, relative: relative, names: names, preset: preset, now: now) {
                queued += id
            }
        }
        return queued
    }

    enum PresetDropKind { case image, sidecar, promptFile }

    /// Takes one drop of a preset folder: queued, rejected, set aside as a duplicate, or left to wait.
    func take(_ kind: PresetDropKind, key: String, name: String, in folder: FolderHandle, relative: String, names: Set<String>,
              preset: Preset, now: Date) -> [Int64]? {
        let stem = (name as NSString).deletingPathExtension
        var candidates = [key]
        do {
            if kind == .promptFile { return try takePromptFile(key: key, name: name, in: folder, preset: preset, now: now) }
            var fields = preset.object
            var files: [Input] = []
            let sidecarName = kind == .sidecar ? name : FolderLayout.sidecarName(forImage: name)
            if names.contains(sidecarName), let entry = folder.entry(sidecarName) {
                let sidecarKey = relative + "/" + sidecarName
                candidates.append(sidecarKey)
                if firstSeen[sidecarKey] == nil { firstSeen[sidecarKey] = now }
                guard settled(sidecarKey, entry, now: now, quiet: true) else { return nil }
                let (data, read) = try folder.read(sidecarName, limit: SidecarLimits.sidecarBytes)
                guard let own = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                    throw JobError(field: nil, "'\(JobError.quote(sidecarKey))' is not a JSON object of sidecar fields")
                }
                if let given = own.keys.sorted().first(where: Preset.fileFields.contains) {
                    throw JobError(field: given, "in a preset folder the image is the file itself and its mask NAME.mask.png; leave \"\(given)\" out of '\(JobError.quote(sidecarName))'")
                }
                fields.merge(own) { _, theirs in theirs }
                files.append(Input(field: "sidecar", relative: sidecarKey, folder: folder, name: sidecarName, data: data, entry: read))
            }
            var image: String?, mask: String?
            let sidecar = try Sidecar(object: fields, preset: true)
            if kind == .image {
                guard sidecar.takesImage else {
                    throw JobError(field: "mode", "preset '\(JobError.quote(preset.name))' runs '\(sidecar.resolvedMode.rawValue)', which starts from noise and takes no image: drop a .txt file of prompts here, or the photo into a preset that edits images")
                }
                image = key
                if sidecar.takesMask {
                    mask = relative + "/" + FolderLayout.maskName(forImage: name)
                    candidates.append(mask!)
                }
            } else if sidecar.takesImage {
                let expected = FolderLayout.impliedImages(sidecarName: name)[0]
                if now.timeIntervalSince(firstSeen[key] ?? now) < config.imageWaitSeconds { return nil }
                throw JobError(field: "image", "file '\(JobError.quote(relative + "/" + expected))' not found beside '\(JobError.quote(name))' (waited \(Int(config.imageWaitSeconds)) s)")
            }
            var complete = fields
            if let image { complete["image"] = image }
            if let mask { complete["mask"] = mask }
            let checked = try Sidecar(object: complete)
            // Hashed without the file names, as a sidecar's implied image is: the same photo again is a duplicate.
            let data = try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
            let drop = Drop(key: key, name: stem, preset: preset.name, fields: data, sidecar: checked, image: image, mask: mask, files: files)
            return try queue(drop, now: now).map { [$0] }
        } catch {
            return failed(key, error, now: now) {
                reject(key, jobName: stem, mode: preset.sidecar.resolvedMode.rawValue, preset: preset.name, candidates: candidates, reason: error)
            }.map { [$0] }
        }
    }
}
