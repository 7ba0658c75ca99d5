import Foundation
import DarkroomJobs
import DarkroomStore
import DarkroomSupport
import DarkroomJobModel

/// Turns settled sidecar/image pairs in the inbox into queued jobs, or rejects them with a reason.
///
/// The sidecar is the commit marker: an image without a sidecar waits; a sidecar whose image is missing waits
/// `imageWaitSeconds`, then is rejected. Only regular files inside the inbox are taken, reached from the inbox's
/// descriptor without following a symbolic link. An accepted drop moves, bytes and names unchanged, into
/// `gallery/jobs/<id>/inputs/` in the same transaction that queues it; a rejected one into `inbox/rejected/` beside
/// its note; content already queued into `inbox/duplicates/` beside a note naming the job. Nothing is deleted or
/// overwritten.
public final class Intake {
    let config: DarkroomConfig
    let store: any JobStore
    let runner: JobRunner
    /// How long a file must stay unchanged when no close-after-write event vouched for it.
    let settleSeconds: Double
    /// Called with the job row of every rejection.
    public var onReject: ((Job) -> Void)?
    let inbox: FolderHandle
    let jobs: FolderHandle
    var confirmed: Set<String> = []
    var firstSeen: [String: Date] = [:]
    var observed: [String: (size: Int, mtime: Date)] = [:]
    /// Drops that could not be moved out of the inbox, as they were then: not tried again until they change.
    var stuck: [String: FolderHandle.Entry] = [:]
    /// Drops whose queueing failed for a reason of Darkroom's own: not tried again before this time.
    var retryAfter: [String: Date] = [:]
    static let retryDelay: Double = 30
    /// Set by `watch --once`: no later scan will come, so a young file that does not decode is judged now.
    public var oneScan = false
    /// Images that did not decode while still young (being written, presumably): waited for, not rejected.
    var waitingToDecode: Set<String> = []
    /// Names intake gave files itself (from names that were not UTF-8): their rename events do not mean complete.
    var selfRenamed: Set<String> = []
    /// Top-level names the watcher's events touched since the last scan.
    var touched: Set<String> = []
    /// Preset folders the watcher's events touched since the last scan.
    var touchedPresets: Set<String> = []
    /// Preset folders with a folder the kernel would not watch: scanned at every scan.
    var unwatchedPresets: Set<String> = []
    /// Presets whose refused watch was logged (once each).
    var warnedUnwatched: Set<String> = []
    /// The inbox's watcher, which intake asks to watch each preset folder it walks (nil: `watch --once`, tests).
    public var watcher: InboxWatcher?
    /// When the inbox was last listed whole, and its modification time then.
    var lastListing: (modified: Date, listedAt: Date)?
    /// Set when the last listing left something to look at again by time (a photo too young to be logged as loose, a
    /// name that could not be renamed).
    var listingNeeded = false
    /// Names that are not UTF-8 and could not be renamed, logged once.
    var failedRenames: Set<[UInt8]> = []
    /// Photos without a sidecar already logged, so that each is logged once.
    var loggedLoose: Set<String> = []
    /// Moves to `rejected/` or `duplicates/` that stopped part-way, finished by a later scan.
    var pendingSetAsides: [PendingSetAside] = []
    struct PendingSetAside {
        var folder: FolderHandle
        var manifest: String
        var after: Date
    }

    public init(config: DarkroomConfig, store: any JobStore, runner: JobRunner, settleSeconds: Double = 0.3) throws {
        self.config = config
        self.store = store
        self.runner = runner
        self.settleSeconds = settleSeconds
        inbox = try FolderHandle(path: config.inbox)
        jobs = try FolderHandle(path: config.gallery).subfolder("jobs")
    }

    /// Records watcher events (complete files need no settling) and the names they touched, for the next scan.
    public func note(_ event: InboxWatcher.Event) {
        switch event {
        case .complete(let name) where Intake.isNested(name), .created(let name) where Intake.isNested(name):
            // In a preset folder the file is its own commit marker: it settles by time, the event only wakes a scan.
            touchedPresets.insert(Intake.preset(of: name))
        case .complete(let name):
            touched.insert(name)
            if selfRenamed.remove(name) == nil { confirmed.insert(name) }
        case .created(let name):
            touched.insert(name)
            if config.presets[name] != nil { touchedPresets.insert(name) }   // a preset folder made anew
        case .overflow: break
        }
    }

    /// Looks at the sidecars in the inbox and at the preset folders; returns the ids of jobs queued.
    ///
    /// `full` (a periodic look, `watch --once`, a test): the inbox's whole listing, unless the folder has not changed
    /// since the last one (`inboxNames`), and every preset folder. Otherwise the names the watcher's events touched
    /// and the drops still settling or waiting, and the preset folders events touched. `relist` forces a listing
    /// (the kernel dropped events).
    @discardableResult
    public func scan(now: Date = Date(), full: Bool = true, relist: Bool = false) -> [Int64] {
        finishPendingSetAsides(now: now)
        let (names, listed) = inboxNames(now: now, periodic: full, forced: relist)
        touched.removeAll()
        var queued: [Int64] = []
        for name in names.filter(Intake.isSidecarName).sorted() where !config.ignore.ignoresFile(name) {
            guard let entry = inbox.entry(name) else {
                if !listed { forgetGone(name) }
                continue
            }
            if let was = stuck[name] {
                if was == entry { continue }
                stuck[name] = nil
            }
            if let later = retryAfter[name], now < later { continue }
            if firstSeen[name] == nil { firstSeen[name] = now }
            // A sidecar is taken once it has stayed unchanged for the settle time, close event or not: an editor that
            // saves twice gives one job, of what it saved last.
            guard settled(name, entry, now: now, quiet: true) else { continue }
            if let id = take(name, entry, now: now) { queued.append(id) }
        }
        // Preset folders are walked whole at every periodic look (their own modification times say nothing of
        // their sub-folders'), and in between when events or pending drops call for it.
        queued += scanPresets(now: now, full: full)
        if listed {
            noteLoosePhotos(names, now: now)
            forgetAllGone(present: Set(names))
        }
        return queued
    }

    /// A top-level name intake treats as a sidecar.
    static func isSidecarName(_ name: String) -> Bool {
        name.hasSuffix(".json") && name != ".json" && !FolderLayout.isIgnored(name) && !FolderLayout.reservedInboxNames.contains(name)
    }

    /// True once a file was closed after writing, or its size and mtime stayed put for `settleSeconds`.
    func settled(_ key: String, _ entry: FolderHandle.Entry, now: Date, quiet: Bool = false) -> Bool {
        if (confirmed.contains(key) && !quiet) || entry.kind != .regular { return true }
        defer { observed[key] = (entry.size, entry.modified) }
        if now.timeIntervalSince(entry.modified) >= settleSeconds { return true }
        if let last = observed[key], last.size == entry.size, last.mtime == entry.modified,
           now.timeIntervalSince(entry.modified) >= settleSeconds / 2 { return true }
        return false
    }

    /// An input file a sidecar names, read and checked.
    struct Input {
        var field: String
        /// The path as the sidecar gives it, relative to the inbox.
        var relative: String
        var folder: FolderHandle
        var name: String
        var data: Data
        var entry: FolderHandle.Entry
    }

    /// Validates one sidecar and queues it, rejects it, sets it aside as a duplicate, or leaves it to wait.
    func take(_ name: String, _ sidecarEntry: FolderHandle.Entry, now: Date) -> Int64? {
        var sidecar: Sidecar?
        do {
            let (data, _) = try inbox.read(name, limit: SidecarLimits.sidecarBytes)
            let parsed = try Sidecar(json: data)
            sidecar = parsed
            if !parsed.takesImage, let stray = FolderLayout.impliedImages(sidecarName: name).first(where: { inbox.entry($0) != nil }) {
                throw JobError(field: "mode", "'\(parsed.resolvedMode.rawValue)' starts from noise and takes no image, but '\(JobError.quote(stray))' was dropped with it: choose a mode that uses it (sdedit, noise, denoise, inpaint) or drop the sidecar alone")
            }
            let image = parsed.imagePath(sidecarName: name) { inbox.entry($0) != nil }
            let file = Input(field: "sidecar", relative: name, folder: inbox, name: name, data: data, entry: sidecarEntry)
            let drop = Drop(key: name, name: String(name.dropLast(5)), fields: data, sidecar: parsed, image: image, mask: parsed.mask,
                            files: [file])
            return try queue(drop, now: now)
        } catch {
            return failed(name, error, now: now) { reject(name, sidecar: sidecar, reason: error) }
        }
    }

    /// One drop as intake takes it: its job's fields and the files that come with it.
    struct Drop {
        /// The file whose arrival makes the job (a sidecar; in a preset folder an image or a prompt file), relative
        /// to the inbox.
        var key: String
        /// The job's name.
        var name: String
        /// The preset whose folder it came through.
        var preset: String?
        /// The sidecar JSON the job is validated and hashed from (a preset drop's: the preset's fields and its own).
        var fields: Data
        var sidecar: Sidecar
        /// The image and mask, relative to the inbox.
        var image: String?
        var mask: String?
        /// The files besides image and mask that move into the job's `inputs/` (a sidecar, a prompt file).
        var files: [Input]
        /// Bytes the job's content hash covers besides fields and inputs (a prompt file's, and the line's number).
        var hashed: [Data] = []
    }

    /// Queues `drop` (nil: left to wait, or set aside as a duplicate); throws what is the drop's fault.
    func queue(_ drop: Drop, now: Date) throws -> Int64? {
        var inputs: [Input] = []
        for (field, relative) in [("image", drop.image), ("mask", drop.mask)] {
            guard let relative else { continue }
            switch try locate(field, relative, now: now) {
            case .found(let input): inputs.append(input)
            case .unsettled: return nil  // still being written
            case .missing:
                if now.timeIntervalSince(firstSeen[drop.key] ?? now) < config.imageWaitSeconds { return nil }  // on its way
                throw JobError(field: field, "file '\(JobError.quote(relative))' not found beside the \(drop.preset == nil ? "sidecar" : "image") (waited \(Int(config.imageWaitSeconds)) s)")
            }
        }
        if inputs.count == 2, inputs[0].entry.inode == inputs[1].entry.inode, inputs[0].entry.device == inputs[1].entry.device {
            throw JobError(field: "mask", "is the same file as image; give the mask its own file")
        }
        for input in inputs {
            do { _ = try InputImage.check(input.data, name: "'\(JobError.quote(input.relative))'") } catch {
                // A file still being written (a slow link, a writer pausing between chunks) does not decode yet: it is
                // waited for while it is young, and judged once it has stayed unchanged for image_wait_seconds.
                if !oneScan, now.timeIntervalSince(input.entry.modified) < max(config.imageWaitSeconds, settleSeconds) {
                    if waitingToDecode.insert(input.relative).inserted {
                        DaemonLog.info("'\(JobError.quote(input.relative))' does not decode yet (\(error)); waiting for its writer to finish")
                    }
                    return nil
                }
                throw JobError(field: input.field, "\(error)")
            }
        }
        let prepared = try runner.prepare(drop.sidecar, image: inputs.first { $0.field == "image" }?.relative,
                                          mask: inputs.first { $0.field == "mask" }?.relative)
        let hash = contentHash(drop, model: prepared.model, inputs: inputs)
        if let original = try store.job(inputHash: hash) {
            setAside(drop.key, inputs: inputs + drop.files, duplicateOf: original)
            return nil
        }
        do {
            return try accept(drop, files: inputs + drop.files, prepared: prepared, hash: hash)
        } catch let error as JobError {
            throw error  // the drop's own fault (a file changed while being taken)
        } catch {
            // Not the drop's fault (the database busy, the gallery's disk full): everything went back, try later.
            throw QueueingFailed(underlying: error)
        }
    }

    /// What a failed take does: a transient error waits `retryDelay` (nothing moved; the drop is taken later), any
    /// other is the drop's fault and `reject` runs. Returns nil (no job).
    func failed(_ key: String, _ error: Error, now: Date, reject: () -> Void) -> Int64? {
        if FaultKind.of(error, in: .drop) == .transient {
            // Reading the drop, loading its model or asking the database failed for a reason that is not the drop's
            // (the database unreachable past its retries, an I/O error, the gallery's disk full).
            DaemonLog.error("could not take '\(JobError.quote(key))' yet, will try again in \(Int(Intake.retryDelay)) s: \(error)")
            retryAfter[key] = now.addingTimeInterval(Intake.retryDelay)
        } else {
            reject()
        }
        return nil
    }

    /// What `locate` found.
    enum Located {
        case missing
        /// There, but still changing (no close-after-write event, size or time not settled): read it later.
        case unsettled
        case found(Input)
    }

    /// Finds `relative` inside the inbox without following links, and reads it once it has settled.
    func locate(_ field: String, _ relative: String, now: Date) throws -> Located {
        var parts = relative.split(separator: "/").map(String.init)
        let name = parts.removeLast()
        var folder = inbox
        for part in parts {
            switch folder.kind(of: part) {
            case .missing: return .missing
            case .directory: folder = try folder.subfolder(part, create: false)
            case let kind:
                throw JobError(field: field, "'\(JobError.quote(part))' is a \(kind), not a folder: only regular files inside the inbox are taken")
            }
        }
        guard let seen = folder.entry(name) else { return .missing }
        guard settled(relative, seen, now: now) else { return .unsettled }
        let (data, entry) = try folder.read(name, limit: SidecarLimits.imageBytes, field: field)
        return .found(Input(field: field, relative: relative, folder: folder, name: name, data: data, entry: entry))
    }

    /// Queues the job and moves its files into `jobs/<id>/inputs/` in one transaction (a manifest lets the next
    /// start roll back a move a crash interrupted).
    func accept(_ drop: Drop, files: [Input], prepared: JobRunner.Prepared, hash: String) throws -> Int64 {
        let r = prepared.request
        var record = Job(name: drop.name, request: r, model: prepared.model, inputHash: hash)
        record.priority = prepared.priority
        record.preset = drop.preset
        // Inputs keep their names; only an image and a mask of one name from two sub-folders need telling apart.
        var targets: [String] = []
        for n in files.map(\.name) {
            var candidate = n, k = 1
            while targets.contains(candidate) { candidate = FileMover.variant(n, k); k += 1 }
            targets.append(candidate)
        }
        // The bytes travel in the database too, for workers on other hosts and for `gallery --rebuild`.
        let stored = zip(files, targets).map { JobFile(role: $0.field, name: FolderLayout.inputs + "/" + $1, data: $0.data) }
        let manifest = IntakeManifest(inputHash: hash, files: zip(files.map(\.relative), targets).map { .init(from: $0, to: $1) })
        var jobID: Int64?
        var jobFolder: FolderHandle?, inputsFolder: FolderHandle?
        var moved: [(folder: FolderHandle, name: String, target: String)] = []
        let row: Job
        do {
            row = try store.insert(record, inputs: stored) { row in
                var row = row
                let id = row.id!
                jobID = id
                let folder = try jobs.newSubfolder(String(id))
                jobFolder = folder
                let inputsDir = try folder.subfolder(FolderLayout.inputs)
                inputsFolder = inputsDir
                try manifest.write(in: folder)
                for (input, target) in zip(files, targets) {
                    // A file with other links (`ln outside/x.png inbox/`) is copied: the job's input never changes
                    // when the file outside is rewritten.
                    try FileMover.move(input.name, from: input.folder, to: inputsDir, as: target, expect: input.entry, copyIfLinked: true)
                    moved.append((input.folder, input.name, target))
                }
                row.folder = FolderLayout.jobFolder(gallery: config.gallery, id: id)
                for (input, target) in zip(files, targets) {
                    let stored = FolderLayout.inputs + "/" + target
                    if input.field == "image" { row.image = stored } else if input.field == "mask" { row.mask = stored }
                }
                return row
            }
        } catch {
            // Nothing was queued (the transaction rolled back, whether a move or the commit failed): every moved file
            // goes back where it was, newest first. If one cannot, the manifest stays and the next start retries.
            var allBack = true
            if let inputsFolder {
                for m in moved.reversed() where (try? FileMover.move(m.target, from: inputsFolder, to: m.folder, as: m.name)) == nil {
                    allBack = false
                }
            }
            if allBack, let folder = jobFolder, let jobID {
                IntakeManifest.remove(from: folder)
                unlinkat(folder.fd, FolderLayout.inputs, AT_REMOVEDIR)
                unlinkat(jobs.fd, String(jobID), AT_REMOVEDIR)
            }
            throw error
        }
        if let jobFolder { IntakeManifest.remove(from: jobFolder) }
        let via = drop.preset.map { " from preset '\(JobError.quote($0))'" } ?? ""
        DaemonLog.info("queued job \(row.id!) '\(JobError.quote(drop.name))'\(via) (\(r.mode.rawValue), seed \(r.seed))")
        forgetSettling([drop.key] + files.map(\.relative))
        return row.id!
    }

    /// Forgets how these files were settling: they were taken or set aside (what is stuck or waiting stays known).
    func forgetSettling(_ keys: [String]) {
        for k in keys {
            confirmed.remove(k)
            firstSeen[k] = nil
            observed[k] = nil
        }
    }

    /// The sidecar JSON with sorted keys, so formatting does not change the hash.
    static func canonical(_ data: Data) -> Data {
        guard let object = try? JSONSerialization.jsonObject(with: data),
              let sorted = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return data }
        return sorted
    }
}

/// Queueing a drop failed for a reason of Darkroom's own (the database, the gallery's disk): everything went back and
/// the drop is taken later, never rejected for it.
struct QueueingFailed: TransientError, CustomStringConvertible {
    var underlying: Error
    var description: String { "could not queue it: \(underlying)" }
}
