import Foundation
#if canImport(Glibc)
import Glibc
#endif
import DarkroomGallery
import DarkroomNotify
import DarkroomJobs
import DarkroomStore
import DarkroomSupport
import DarkroomTensor
import DarkroomJobModel

/// Set from signal handlers: stop after (or by cancelling) the current job. nonisolated(unsafe): `sig_atomic_t`
/// values written by a handler and polled by the loops, as C signal handling allows (likewise the next one).
nonisolated(unsafe) public var daemonStopRequested: sig_atomic_t = 0
/// Set from signal handlers: the last signal that is logged and otherwise ignored (SIGHUP, SIGUSR1, SIGUSR2).
nonisolated(unsafe) public var daemonIgnoredSignal: sig_atomic_t = 0

/// `darkroom watch`: watcher and intake on one thread, the worker (unless `--no-worker`) on another, the gallery
/// export on a third, systemd told what happens.
///
/// `@unchecked Sendable`: the worker and export threads get `self`. What they share is the index state (`indexDirty`,
/// `lastIndexWrite`, `workerIdle`) and the gallery, only while `galleryLock` is held; the intake is used only on the
/// watcher thread, the worker only on its own; the store and the model library lock themselves.
public final class Daemon: @unchecked Sendable {
    public let config: DarkroomConfig
    public let store: any JobStore
    /// One daemon per database: a file lock beside an SQLite database, an advisory lock on PostgreSQL (taken again
    /// when its connection is lost; a daemon that finds another holding it stops).
    var lock: AnyObject
    let intake: Intake
    /// The daemon's own worker (nil with `--no-worker`: workers run elsewhere).
    let worker: Worker?
    let notifier = SystemdNotifier()
    /// The HTML gallery, re-rendered after every job and rejection.
    public let gallery: Gallery
    private let wake = DispatchSemaphore(value: 0)
    /// Delivers the outbox's notices (`Daemon+Notices`), woken by `noticeWake` when a job ends.
    let noticeSender: NoticeSender
    let noticeWake = DispatchSemaphore(value: 0)
    let galleryLock = NSLock()
    /// When `watch` prunes next (`Daemon+Retention`): a minute after the start, then daily.
    var nextPrune = Date().addingTimeInterval(min(60, Daemon.pruneEvery))
    private var indexDirty = false
    private var lastIndexWrite = Date.distantPast
    private var workerIdle = true
    /// The SQLite database file as opened (device, inode): a database deleted or replaced under the daemon stops it.
    private let databaseFile: (device: UInt64, inode: UInt64)?

    /// Writes the gallery index if jobs ended since the last write and a second has passed or the worker is idle.
    func refreshIndex(force: Bool = false, now: Date = Date()) {
        galleryLock.lock(); defer { galleryLock.unlock() }
        guard indexDirty, force || workerIdle || now.timeIntervalSince(lastIndexWrite) >= 1 else { return }
        do { try gallery.writeIndex() } catch { DaemonLog.error("gallery: \(error)") }
        indexDirty = false
        lastIndexWrite = now
    }
    public init(config: DarkroomConfig, runner: JobRunner? = nil, runsWorker: Bool = true) throws {
        self.config = config
        // Notices to URLs under a unit that denies the network: said now, with the fix, not once per delivery for a day.
        if let problem = NetworkAccess.problem(for: config.notify) { throw JobFolderError(problem) }
        let store = try openJobStore(config.database)
        lock = try lockDatabase(config.database, store: store)
        (store as? PostgresJobStore)?.onConnectionChange = { DaemonLog.warning($0) }
        for (key, folder) in [("inbox", config.inbox), ("gallery", config.gallery)] {
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), !isFolder.boolValue {
                throw JobError(field: key, "\(folder) is a file, not a folder")
            }
            do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
                throw JobError(field: key, "cannot create the folder \(folder): \(error.localizedDescription)")
            }
        }
        self.store = store
        noticeSender = NoticeSender(store: store, targets: config.notify, galleryURL: config.galleryURL)
        if store.engine == .sqlite {
            guard let file = Daemon.identity(of: config.database) else { throw JobFolderError("database: \(config.database) vanished while opening") }
            databaseFile = file
        } else {
            databaseFile = nil
        }
        gallery = try Gallery(folder: config.gallery, templates: config.templates, store: store)
        try gallery.bindToDatabase(config.database)
        gallery.pathLabels = Gallery.pathLabels(inbox: config.inbox, gallery: config.gallery, models: config.models)
        let runner = runner ?? JobRunner(config: config, library: ModelLibrary(embeddingCache: StoredPromptEmbeddings(store: store)))
        intake = try Intake(config: config, store: store, runner: runner)
        // rejected/ and duplicates/ get the inbox's own permissions: whoever may drop files may clean them up.
        for name in FolderLayout.reservedInboxNames.sorted() { _ = try intake.inbox.subfolder(name, mode: intake.inbox.accessPermissions) }
        worker = runsWorker ? try Worker(store: store, runner: runner, id: WorkerIdentity.daemon, config: config) : nil
        worker?.stopRequested = { daemonStopRequested != 0 }
        // Job files and pages are written at once; the index (which lists every job) at most once a second while work
        // flows, and as soon as the queue is idle, so a burst of jobs does not re-render it per job.
        let gallery = self.gallery
        worker?.beforeFinish = { [weak self] job, results, files in
            guard let self else { return }
            galleryLock.lock(); defer { galleryLock.unlock() }
            try gallery.writeResultFiles(job.id!, results: results, files: files)
        }
        worker?.onJobEnd = { [weak self] job in
            guard let self else { return }
            galleryLock.lock(); defer { galleryLock.unlock() }
            do { try gallery.export(job.id!) } catch { DaemonLog.error("gallery: \(error)") }
            indexDirty = true
            noticeWake.signal()
        }
        // A running job's page, its index page and systemd's status follow its progress (reports come at most once a second).
        let notifier = self.notifier
        worker?.onProgress = { [weak self] job, progress in
            guard let self else { return }
            notifier.send("STATUS=" + Daemon.statusLine(job, progress))
            galleryLock.lock(); defer { galleryLock.unlock() }
            do {
                try gallery.writeRunningPage(job.id!)
                try gallery.writeIndexPages(listing: [job.id!])
            } catch { DaemonLog.error("gallery: \(error)") }
        }
        intake.onReject = { [weak self] job in
            guard let self else { return }
            galleryLock.lock(); defer { galleryLock.unlock() }
            do { try gallery.writeJobPage(job) } catch { DaemonLog.error("gallery: \(error)") }
            indexDirty = true
            noticeWake.signal()
        }
        // Repairs after a kill -9, before anything else touches the inbox or the queue.
        let stale = Daemon.removeStaleTemporaries(gallery: try FolderHandle(path: config.gallery), jobs: intake.jobs, inbox: intake.inbox)
        let rolledBack = try Daemon.rollBackInterruptedIntakes(inbox: intake.inbox, jobs: intake.jobs, store: store)
        let setAside = try SetAside.finishInterrupted(inbox: intake.inbox, store: store)
        // The daemon's own worker has one name per database: what it held when it died was interrupted, whatever the lease.
        let (requeued, failed) = try store.recoverJobs(of: WorkerIdentity.daemon, maxAttempts: config.maxAttempts, now: Date())
        let exported = try gallery.exportEnded(limit: 10_000)
        let pages = try Daemon.writeMissingPages(gallery: gallery, store: store, alsoFor: Set(requeued + failed).subtracting(Set(exported)))
        if rolledBack + setAside + stale + pages + requeued.count + failed.count > 0 {
            DaemonLog.warning("recovered after a stop: \(requeued.count) job(s) re-queued, \(failed.count) marked failed, \(rolledBack) interrupted intake(s) returned to the inbox, \(setAside) interrupted move(s) to rejected/ or duplicates/ finished, \(pages) page(s) written, \(stale) stale temporary file(s) removed")
        }
    }

    /// systemd's STATUS= for a running job: `job 12 'cat': stage I step 9/30, 41 s left`.
    static func statusLine(_ job: Job, _ p: JobProgress) -> String {
        var line = "job \(job.id!) '\(JobError.quote(job.name, limit: 40))': \(p.stage)"
        if p.steps > 0 { line += " step \(p.step)/\(p.steps)" }
        if let eta = p.etaSeconds { line += String(format: ", %.0f s left", eta) }
        return line
    }

    /// Writes the files and pages of jobs that ended since the last look (those of other hosts' workers above all).
    func exportEnded() {
        galleryLock.lock(); defer { galleryLock.unlock() }
        do {
            if !(try gallery.exportEnded()).isEmpty {
                indexDirty = true
                noticeWake.signal()
            }
        } catch { DaemonLog.error("gallery: \(error)") }
    }

    private var lastRemotePages = Date.distantPast

    /// Pages of jobs running on other workers follow their progress (every 2 s; the daemon's own worker reports itself).
    func refreshRemoteRunningPages(now: Date = Date()) {
        guard now.timeIntervalSince(lastRemotePages) >= 2 else { return }
        lastRemotePages = now
        do {
            let remote = try store.jobs(state: .running, limit: 100, offset: 0).filter { $0.worker != worker?.id }
            guard !remote.isEmpty else { return }
            galleryLock.lock(); defer { galleryLock.unlock() }
            for job in remote { try gallery.writeRunningPage(job.id!) }
            try gallery.writeIndexPages(listing: Set(remote.map { $0.id! }))
        } catch { DaemonLog.error("gallery: \(error)") }
    }

    /// systemd's STATUS= while no job runs.
    func idleStatus() -> String {
        let counts = (try? store.counts()) ?? [:]
        let paused = (try? store.isPaused()) ?? false
        return (paused ? "paused (darkroom resume); " : "watching \(config.inbox); ") + "\(counts[.queued] ?? 0) queued, \(counts[.done] ?? 0) done"
    }

    /// (device, inode) of `path`, nil when it does not exist.
    static func identity(of path: String) -> (device: UInt64, inode: UInt64)? {
        var s = stat()
        guard stat(path, &s) == 0 else { return nil }
        return (UInt64(s.st_dev), UInt64(s.st_ino))
    }

    /// Why the daemon must stop because its database is gone, or nil while it is the file opened at start.
    func databaseProblem() -> String? {
        if let held = lock as? PostgresIntakeLock, held.isLost, let postgres = store as? PostgresJobStore {
            do {
                lock = try postgres.lockIntake()
                DaemonLog.warning("database: the intake lock's connection was lost; the lock is held again")
            } catch let error as StoreError where error.description.contains("another darkroom watch") {
                return "\(error.description); stopping this one"
            } catch {
                DaemonLog.error("database: taking the intake lock again: \(error)")  // the server is away: next second
            }
        }
        guard let databaseFile else { return nil }
        guard let now = Daemon.identity(of: config.database) else {
            return "database: \(config.database) was deleted while Darkroom was running; stopping (restore it, or start again with a new database and a new gallery folder)"
        }
        if now != databaseFile {
            return "database: \(config.database) was replaced while Darkroom was running; stopping (start again to use the new file)"
        }
        return nil
    }

    /// Logs a signal that is received and ignored.
    func logIgnoredSignal() {
        guard daemonIgnoredSignal != 0 else { return }
        let name = [SIGHUP: "SIGHUP", SIGUSR1: "SIGUSR1", SIGUSR2: "SIGUSR2"][daemonIgnoredSignal] ?? "signal \(daemonIgnoredSignal)"
        daemonIgnoredSignal = 0
        DaemonLog.info("\(name) received and ignored: config.json is read at start; restart the service to apply a change")
    }

    /// Scans the inbox once and runs the queue until it is empty, then returns (`--once`). A sidecar whose image has
    /// not arrived yet is left for the next run (or rejected, with `image_wait_seconds` 0).
    public func runOnce() throws {
        notifier.send("READY=1")
        try gallery.writeIndex()
        intake.oneScan = true
        try intake.runner.checkPresets()
        intake.createPresetFolders()
        // Files already there count as settled once they are older than the settle time.
        Thread.sleep(forTimeInterval: intake.settleSeconds)
        intake.scan()
        while let worker {
            if let problem = databaseProblem() { throw JobFolderError(problem) }
            guard try worker.runNext() else { break }
            refreshIndex()
            logIgnoredSignal()
            if daemonStopRequested != 0 { break }
        }
        exportEnded()
        refreshIndex(force: true)
        deliverNotices()
        notifier.send("STOPPING=1")
    }

    /// Watches until SIGTERM/SIGINT: the watch is added before the first scan; the inbox is scanned on every event
    /// and every `pollEvery` seconds (files that arrive without a close event settle by time), looked at whole every
    /// `Intake.fullScanEvery` seconds (`Intake+Listing`), and listed after the kernel dropped events.
    public func run(pollEvery: Double = 0.5) throws {
        intake.createPresetFolders()
        let watcher = try InboxWatcher(folder: config.inbox)
        intake.watcher = watcher
        try gallery.writeIndex()
        let workerDone = DispatchSemaphore(value: 0)
        if let worker {
            let workerThread = Thread { [self] in
                while daemonStopRequested == 0 {
                    do {
                        let worked = try worker.runNext()
                        galleryLock.lock(); workerIdle = !worked; galleryLock.unlock()
                        if worked { notifier.send("STATUS=" + idleStatus()) }
                        if !worked {
                            worker.noteIdle()
                            _ = wake.wait(timeout: .now() + min(1, config.pollSeconds))
                        }
                    } catch {
                        DaemonLog.error("worker: \(error)")
                        Thread.sleep(forTimeInterval: 1)
                    }
                }
                workerDone.signal()
            }
            workerThread.start()
        } else {
            workerDone.signal()
        }
        // Jobs other hosts' workers end reach the gallery here: woken by NOTIFY on PostgreSQL, polling as the backstop.
        let exportDone = DispatchSemaphore(value: 0)
        let exportThread = Thread { [self] in
            while daemonStopRequested == 0 {
                _ = store.waitForChange(.ended, timeout: min(0.5, config.pollSeconds))
                exportEnded()
                refreshRemoteRunningPages()
                pruneIfDue()
            }
            exportDone.signal()
        }
        exportThread.start()
        let noticesDone = startNoticeSender()
        // READY before the first scan: taking a drop may load a large model for minutes, which must count against
        // the watchdog (fed meanwhile), not against the start timeout.
        notifier.send("READY=1")
        notifier.send("STATUS=" + idleStatus())
        DaemonLog.info("watching \(config.inbox); database \(config.database); gallery \(config.gallery)")
        DaemonLog.info("CPU \(CPUInfo.current.summary); \(BLASKernel.current.summary); \(OneDNN.summary), 3x3 convolutions \(ConvolutionChoice.mode)")
        // The watchdog follows the main loop and, while it runs, the worker's job: a stalled job stops it too.
        let heartbeat = Heartbeat(job: worker?.liveness)
        if let w = SystemdNotifier.watchdogInterval() { heartbeat.start(interval: w, notifier: notifier) }
        // Presets are checked against their models (loading them, meanwhile the heartbeat goes on): a bad one stops
        // the start, naming the preset and the key.
        var presetProblem: Error?
        heartbeat.whileBusy { do { try intake.runner.checkPresets() } catch { presetProblem = error } }
        if let presetProblem {
            heartbeat.stop()
            daemonStopRequested = 1
            wake.signal()
            workerDone.wait()
            exportDone.wait()
            noticeWake.signal()
            noticesDone.wait()
            throw presetProblem
        }
        if !heartbeat.whileBusy({ intake.scan() }).isEmpty { wake.signal() }
        var lastScan = Date(), lastCheck = Date(), lastPeriodicLook = Date()
        var fatal: String?
        while daemonStopRequested == 0 {
            logIgnoredSignal()
            if Date().timeIntervalSince(lastCheck) >= 1 {
                lastCheck = Date()
                if let problem = databaseProblem() {
                    fatal = problem
                    DaemonLog.error(problem)
                    daemonStopRequested = 1
                    break
                }
            }
            let events = watcher.next(timeout: 0.1)
            var rescan = false
            for e in events {
                intake.note(e)
                if case .overflow = e { rescan = true }
            }
            let now = Date()
            let full = rescan || now.timeIntervalSince(lastPeriodicLook) >= Intake.fullScanEvery
            if full || !events.isEmpty || now.timeIntervalSince(lastScan) >= pollEvery {
                // Taking a drop may load a model first (a large one for minutes): the heartbeat goes on meanwhile.
                let queued = heartbeat.whileBusy { intake.scan(now: now, full: full, relist: rescan) }
                if full { lastPeriodicLook = now }
                if !queued.isEmpty {
                    wake.signal()
                    notifier.send("STATUS=" + idleStatus())
                }
                lastScan = now
            }
            refreshIndex(now: now)
            heartbeat.tick()
        }
        heartbeat.stop()
        notifier.send("STOPPING=1")
        DaemonLog.info("stopping: finishing or returning the running job")
        wake.signal()
        workerDone.wait()
        exportDone.wait()
        noticeWake.signal()
        noticesDone.wait()
        if let fatal { throw JobFolderError(fatal) }
        refreshIndex(force: true)
    }
}
