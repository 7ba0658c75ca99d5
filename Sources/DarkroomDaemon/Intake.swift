import Foundation
import DarkroomJobs
import DarkroomStore
import DarkroomTensor

/// Turns settled sidecar/image pairs in the inbox into queued jobs, or rejects them with a reason.
///
/// The sidecar is the commit marker: an image without a sidecar waits; a sidecar whose image is missing waits
/// `imageWaitSeconds`, then is rejected. Accepted files move (rename) into the job's folder; rejected ones into
/// `inbox/rejected/` beside `NAME.error.json`. Nothing is deleted.
public final class Intake {
    let config: DarkroomConfig
    let store: JobStore
    let runner: JobRunner
    /// How long a file must stay unchanged when no close-after-write event vouched for it.
    let settleSeconds: Double
    /// Called with the job row of every rejection.
    public var onReject: ((JobRecord) -> Void)?
    private var confirmed: Set<String> = []
    private var firstSeen: [String: Date] = [:]
    private var observed: [String: (size: Int, mtime: Date)] = [:]

    public init(config: DarkroomConfig, store: JobStore, runner: JobRunner, settleSeconds: Double = 0.3) {
        self.config = config
        self.store = store
        self.runner = runner
        self.settleSeconds = settleSeconds
    }

    /// Names the daemon never treats as inputs: dotfiles and partial copies.
    public static func ignored(_ name: String) -> Bool {
        name.hasPrefix(".") || name.hasSuffix(".tmp") || name.hasSuffix(".part")
    }

    /// Records watcher events (complete files need no settling).
    public func note(_ event: InboxWatcher.Event) {
        if case .complete(let name) = event { confirmed.insert(name) }
    }

    /// Looks at every sidecar in the inbox; returns the ids of jobs queued.
    @discardableResult
    public func scan(now: Date = Date()) -> [Int64] {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: config.inbox) else { return [] }
        var queued: [Int64] = []
        for name in names.sorted() where name.hasSuffix(".json") && !Intake.ignored(name) && !name.hasSuffix(".error.json") {
            let path = (config.inbox as NSString).appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            if firstSeen[name] == nil { firstSeen[name] = now }
            guard settled(name, now: now) else { continue }
            if let id = take(name, path: path, now: now) { queued.append(id) }
        }
        return queued
    }

    /// True once a file was closed after writing, or its size and mtime stayed put for `settleSeconds`.
    func settled(_ name: String, now: Date) -> Bool {
        if confirmed.contains(name) { return true }
        let path = (config.inbox as NSString).appendingPathComponent(name)
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = attributes[.size] as? Int, let mtime = attributes[.modificationDate] as? Date else { return false }
        defer { observed[name] = (size, mtime) }
        if now.timeIntervalSince(mtime) >= settleSeconds { return true }
        if let last = observed[name], last.size == size, last.mtime == mtime, now.timeIntervalSince(mtime) >= settleSeconds / 2 { return true }
        return false
    }

    /// Validates and queues one sidecar, or rejects it; returns the job id when queued.
    func take(_ name: String, path: String, now: Date) -> Int64? {
        let base = (name as NSString).deletingPathExtension
        let prepared: JobRunner.Prepared
        do {
            prepared = try runner.prepare(sidecarPath: path)
        } catch let error as JobError where error.field == "image" || error.field == "mask" {
            if error.message.contains("not found"), now.timeIntervalSince(firstSeen[name] ?? now) < config.imageWaitSeconds {
                return nil  // the image may still be on its way
            }
            reject(base, sidecar: path, reason: error)
            return nil
        } catch {
            reject(base, sidecar: path, reason: error)
            return nil
        }
        for file in [prepared.image, prepared.mask].compactMap({ $0 }) where !settled((file as NSString).lastPathComponent, now: now) {
            return nil
        }
        return accept(base, sidecar: path, prepared: prepared)
    }

    func accept(_ base: String, sidecar: String, prepared: JobRunner.Prepared) -> Int64? {
        do {
            let sidecarData = try Data(contentsOf: URL(fileURLWithPath: sidecar))
            var hasher = FNV1a64()
            hasher.add(Data(prepared.model.utf8))
            hasher.add(canonical(sidecarData))
            for file in [prepared.image, prepared.mask].compactMap({ $0 }) { hasher.add(try Data(contentsOf: URL(fileURLWithPath: file))) }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let parameters = String(decoding: try encoder.encode(prepared.request), as: UTF8.self)
            let r = prepared.request
            var record = JobRecord(name: base, mode: r.mode.rawValue, model: prepared.model,
                                   prompt: r.prompts.isEmpty ? r.prompt : r.prompts.joined(separator: " | "),
                                   seed: Int64(r.seed), parameters: parameters, inputHash: hasher.hex, folder: "")
            record.image = prepared.image.map { ($0 as NSString).lastPathComponent }
            record.mask = prepared.mask.map { ($0 as NSString).lastPathComponent }
            let (job, inserted) = try store.enqueue(record)
            let folder = JobFolders.folder(gallery: config.gallery, id: job.id!)
            if inserted { try store.setFolder(job.id!, folder) }
            let files = [sidecar] + [prepared.image, prepared.mask].compactMap { $0 }
            if inserted || !FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent((sidecar as NSString).lastPathComponent)) {
                // New job, or a job recorded just before a crash whose inputs never moved: move them now.
                try JobFolders.move(files, into: folder)
                DaemonLog.info("queued job \(job.id!) '\(base)' (\(r.mode.rawValue), seed \(r.seed))")
                forget(files)
                return inserted ? job.id : nil
            }
            let duplicates = (config.inbox as NSString).appendingPathComponent("duplicates")
            try JobFolders.move(files, into: duplicates)
            try JobFolders.writeNote(["sidecar": base, "duplicate_of": job.id!], to: (duplicates as NSString).appendingPathComponent(base + ".duplicate.json"))
            DaemonLog.info("'\(base)' is the same as job \(job.id!); moved to inbox/duplicates")
            forget(files)
            return nil
        } catch {
            reject(base, sidecar: sidecar, reason: error)
            return nil
        }
    }

    /// Moves the sidecar and any inputs it names or implies to `inbox/rejected/` with `NAME.error.json`.
    func reject(_ base: String, sidecar: String, reason: Error) {
        let rejected = (config.inbox as NSString).appendingPathComponent("rejected")
        var files = [sidecar]
        let folder = (sidecar as NSString).deletingLastPathComponent
        var names: Set<String> = [base + ".png"]
        if let object = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: sidecar)))) as? [String: Any] {
            for key in ["image", "mask"] {
                if let p = object[key] as? String, !p.contains(".."), !p.hasPrefix("/"), !p.contains("/") { names.insert(p) }
            }
        }
        for n in names.sorted() {
            let p = (folder as NSString).appendingPathComponent(n)
            if FileManager.default.fileExists(atPath: p) { files.append(p) }
        }
        let field = (reason as? JobError)?.field
        do {
            try JobFolders.move(files, into: rejected)
            var note: [String: Any] = ["sidecar": base, "error": "\(reason)", "time": ISO8601DateFormatter().string(from: Date())]
            note["field"] = field ?? NSNull()
            try JobFolders.writeNote(note, to: (rejected as NSString).appendingPathComponent(base + ".error.json"))
            var hasher = FNV1a64()
            hasher.add(Data("rejected \(base) \(Date().timeIntervalSince1970)".utf8))
            var record = JobRecord(name: base, mode: "-", model: "-", prompt: "", seed: 0, parameters: "{}",
                                   inputHash: hasher.hex, folder: rejected, state: .rejected)
            record.error = "\(reason)"
            let (row, _) = try store.enqueue(record)
            DaemonLog.warning("rejected '\(base)': \(reason)")
            onReject?(row)
        } catch {
            DaemonLog.error("could not reject '\(base)': \(error)")
        }
        forget(files)
    }

    private func forget(_ files: [String]) {
        for f in files {
            let n = (f as NSString).lastPathComponent
            confirmed.remove(n)
            firstSeen[n] = nil
            observed[n] = nil
        }
    }

    /// The sidecar JSON with sorted keys, so formatting does not change the hash.
    private func canonical(_ data: Data) -> Data {
        guard let object = try? JSONSerialization.jsonObject(with: data),
              let sorted = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return data }
        return sorted
    }
}

/// 64-bit FNV-1a, for content hashes.
struct FNV1a64 {
    private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325
    mutating func add(_ data: Data) {
        for b in data { value = (value ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        value = (value ^ 0xFF) &* 0x0000_0100_0000_01B3  // separator between parts
    }
    var hex: String { String(format: "%016llx", value) }
}

/// Job folders and moves that never lose a file.
public enum JobFolders {
    /// `<gallery>/jobs/<id>`.
    public static func folder(gallery: String, id: Int64) -> String {
        ((gallery as NSString).appendingPathComponent("jobs") as NSString).appendingPathComponent(String(id))
    }

    /// Renames `files` into `folder`, adding `-1`, `-2`, … before the extension when a name is taken.
    static func move(_ files: [String], into folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for file in files where FileManager.default.fileExists(atPath: file) {
            let name = (file as NSString).lastPathComponent
            var target = (folder as NSString).appendingPathComponent(name)
            var k = 1
            while FileManager.default.fileExists(atPath: target) {
                let ext = (name as NSString).pathExtension
                let stem = (name as NSString).deletingPathExtension
                target = (folder as NSString).appendingPathComponent("\(stem)-\(k)" + (ext.isEmpty ? "" : ".\(ext)"))
                k += 1
            }
            guard rename(file, target) == 0 else {
                throw JobFolderError("cannot move \(file) to \(target): \(String(cString: strerror(errno)))")
            }
        }
    }

    static func writeNote(_ object: [String: Any], to path: String) throws {
        try AtomicFile.write(try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]), to: path)
    }
}
