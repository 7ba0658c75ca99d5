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
    public init(config: DarkroomConfig, runner: JobRunner? = nil) throws {
        self.config = config
        for folder in [config.inbox, config.gallery] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        store = try JobStore(path: config.database)
        gallery = try Gallery(folder: config.gallery, templates: config.templates, store: store)
        let runner = runner ?? JobRunner(config: config)
        intake = Intake(config: config, store: store, runner: runner)
        worker = Worker(store: store, runner: runner)
        worker.stopRequested = { daemonStopRequested != 0 }
        let gallery = self.gallery
        let galleryLock = NSLock()
        worker.onJobEnd = { job in
            galleryLock.lock(); defer { galleryLock.unlock() }
            do { try gallery.update(job) } catch { DaemonLog.error("gallery: \(error)") }
        }
        intake.onReject = { job in
            galleryLock.lock(); defer { galleryLock.unlock() }
            do { try gallery.update(job) } catch { DaemonLog.error("gallery: \(error)") }
        }
        worker.onStep = { [notifier] job, info in
            if info.index % 10 == 0 || info.index == info.count {
                notifier.send("STATUS=job \(job.id!) \(job.name): step \(info.index)/\(info.count)")
            }
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
            if daemonStopRequested != 0 { break }
        }
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
                    if try !worker.runNext() { _ = wake.wait(timeout: .now() + 1) }
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
            if let w = watchdog, now.timeIntervalSince(lastBeat) >= w / 2 {
                notifier.send("WATCHDOG=1")
                lastBeat = now
            }
        }
        notifier.send("STOPPING=1")
        DaemonLog.info("stopping: finishing or returning the running job")
        wake.signal()
        workerDone.wait()
    }
}
