import Foundation
import DarkroomGallery
import DarkroomJobs
import DarkroomStore

/// Set from signal handlers: stop after (or by cancelling) the current job.
nonisolated(unsafe) public var daemonStopRequested: sig_atomic_t = 0

/// `darkroom watch`: watcher and intake on one thread, the worker on another, systemd told what happens.
public final class Daemon {
    public let config: DarkroomConfig
    public let store: JobStore
    let intake: Intake
    let worker: Worker
    let notifier = SystemdNotifier()
    /// The HTML gallery, re-rendered after every job and rejection.
    public let gallery: Gallery
    private let wake = DispatchSemaphore(value: 0)
    private let galleryLock = NSLock()
    private var indexDirty = false
    private var lastIndexWrite = Date.distantPast
    private var workerIdle = true

    /// Writes the gallery index if jobs ended since the last write and a second has passed or the worker is idle.
    func refreshIndex(force: Bool = false, now: Date = Date()) {
        galleryLock.lock(); defer { galleryLock.unlock() }
        guard indexDirty, force || workerIdle || now.timeIntervalSince(lastIndexWrite) >= 1 else { return }
        do { try gallery.writeIndex() } catch { DaemonLog.error("gallery: \(error)") }
        indexDirty = false
        lastIndexWrite = now
    }
    public init(config: DarkroomConfig, runner: JobRunner? = nil) throws {
        self.config = config
        for folder in [config.inbox, config.gallery] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        store = try JobStore(path: config.database)
        gallery = try Gallery(folder: config.gallery, templates: config.templates, store: store)
        let runner = runner ?? JobRunner(config: config, library: ModelLibrary(embeddingCache: StoredPromptEmbeddings(store: store)))
        intake = Intake(config: config, store: store, runner: runner)
        worker = Worker(store: store, runner: runner)
        worker.stopRequested = { daemonStopRequested != 0 }
        // Job pages are written at once; the index (which lists every job) at most once a second while work
        // flows, and as soon as the queue is idle, so a burst of jobs does not re-render it per job.
        let gallery = self.gallery
        worker.onJobEnd = { [weak self] job in
            guard let self else { return }
            galleryLock.lock(); defer { galleryLock.unlock() }
            do { try gallery.writeJobPage(job) } catch { DaemonLog.error("gallery: \(error)") }
            indexDirty = true
        }
        intake.onReject = { [weak self] job in
            guard let self else { return }
            galleryLock.lock(); defer { galleryLock.unlock() }
            do { try gallery.writeJobPage(job) } catch { DaemonLog.error("gallery: \(error)") }
            indexDirty = true
        }
        let (requeued, failed) = try store.recoverInterrupted(maxAttempts: config.maxAttempts)
        if requeued + failed > 0 { DaemonLog.warning("recovered after a stop: \(requeued) job(s) re-queued, \(failed) marked failed") }
    }

    /// Processes everything in the inbox and the queue, then returns (`--once`).
    public func runOnce() throws {
        notifier.send("READY=1")
        try gallery.writeIndex()
        // Files already there count as settled once they are older than the settle time.
        Thread.sleep(forTimeInterval: intake.settleSeconds)
        intake.scan()
        while try worker.runNext() {
            refreshIndex()
            if daemonStopRequested != 0 { break }
        }
        refreshIndex(force: true)
        notifier.send("STOPPING=1")
    }

    /// Watches until SIGTERM/SIGINT: the watch is added before the first scan; overflow and a periodic timer rescan.
    public func run(rescanEvery: Double = 30) throws {
        let watcher = try InboxWatcher(folder: config.inbox)
        try gallery.writeIndex()
        intake.scan()
        let workerDone = DispatchSemaphore(value: 0)
        let workerThread = Thread { [self] in
            while daemonStopRequested == 0 {
                do {
                    let worked = try worker.runNext()
                    galleryLock.lock(); workerIdle = !worked; galleryLock.unlock()
                    if !worked { _ = wake.wait(timeout: .now() + 1) }
                } catch {
                    DaemonLog.error("worker: \(error)")
                    Thread.sleep(forTimeInterval: 1)
                }
            }
            workerDone.signal()
        }
        workerThread.start()
        notifier.send("READY=1")
        notifier.send("STATUS=watching \(config.inbox)")
        DaemonLog.info("watching \(config.inbox); database \(config.database); gallery \(config.gallery)")
        let watchdog = SystemdNotifier.watchdogInterval()
        var lastBeat = Date.distantPast, lastScan = Date()
        while daemonStopRequested == 0 {
            let events = watcher.next(timeout: 0.1)
            var rescan = false
            for e in events {
                intake.note(e)
                if case .overflow = e { rescan = true }
            }
            let now = Date()
            if !events.isEmpty || rescan || now.timeIntervalSince(lastScan) >= min(rescanEvery, 0.5) {
                if !intake.scan(now: now).isEmpty { wake.signal() }
                lastScan = now
            }
            refreshIndex(now: now)
            if let w = watchdog, now.timeIntervalSince(lastBeat) >= w / 2 {
                notifier.send("WATCHDOG=1")
                lastBeat = now
            }
        }
        notifier.send("STOPPING=1")
        DaemonLog.info("stopping: finishing or returning the running job")
        wake.signal()
        workerDone.wait()
        refreshIndex(force: true)
    }
}
