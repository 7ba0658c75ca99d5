import Foundation
import DarkroomJobs
import DarkroomStore
import DarkroomJobModel
import DarkroomSupport

/// Claims queued jobs one at a time (none while paused) and runs them in a private scratch folder: inputs come from
/// the database and results go back to it, so a worker needs no inbox, no gallery and no shared file system.
///
/// A claim is leased: a `LeaseKeeper` renews it while the job runs, and a job whose lease is lost (the worker was
/// stopped past it and the job rescued) stops at its next step; whatever it would report is refused by the store.
/// A job asked to cancel stops at its next step and keeps what it has. `@unchecked Sendable`: used on one thread at a
/// time (the daemon hands it to its worker thread once).
public final class Worker: @unchecked Sendable {
    let store: any JobStore
    let runner: JobRunner
    /// This worker's id in the database (`host/watch` for the daemon's own, `host/pid/…` for `darkroom worker`).
    public let id: String
    let lease: TimeInterval
    let renewEvery: TimeInterval
    let maxAttempts: Int
    /// Where running jobs' files live (this worker's own), one sub-folder per attempt, removed when the job ends.
    let scratch: ScratchFolder
    /// Whether the running job makes progress (the watchdog and the lease follow it).
    let liveness: JobLiveness
    /// A job running longer than this stops at its next step and fails (nil: no limit).
    let timeout: Double?
    /// The model of the last job, which the model library keeps loaded: jobs for it go first.
    private(set) var loadedModel: String?
    private var lastRescue = Date.distantPast
    /// Called after every finished, failed, cancelled or re-queued job (the gallery hook).
    public var onJobEnd: ((Job) -> Void)?
    /// Called with a finished job's files just before they are recorded: the daemon's own worker writes them into the
    /// gallery first, so that a job is never `done` before its `result*.png` are in its folder. (Should the record then
    /// be refused, the job's holder ends it later and its files replace these.)
    public var beforeFinish: ((Job, [JobResult], [Data]) throws -> Void)?
    /// Called with a running job's progress: at each stage change, and during sampling at most once a second.
    public var onProgress: ((Job, JobProgress) -> Void)?
    /// Set to stop: the running job stops at its next step and returns to the queue.
    public var stopRequested: () -> Bool = { false }

    public init(store: any JobStore, runner: JobRunner, id: String, config: DarkroomConfig) throws {
        self.store = store
        self.runner = runner
        self.id = id
        lease = config.leaseSeconds
        renewEvery = config.leaseRenewSeconds
        maxAttempts = config.maxAttempts
        liveness = JobLiveness(stallSeconds: config.jobStallSeconds)
        timeout = config.jobTimeoutSeconds
        scratch = try ScratchFolder(owner: id)
    }

    deinit { scratch.remove() }

    /// Whether a stop came from `darkroom cancel` or the job's time limit (read on the worker's thread only).
    private final class CancelFlag { var cancelled = false; var timedOut = false }

    /// Queues again (or fails) jobs whose workers' leases expired, at most once per renewal interval; logs each.
    public func rescueExpired(now: Date = Date()) {
        guard now.timeIntervalSince(lastRescue) >= renewEvery else { return }
        lastRescue = now
        do {
            let (requeued, failed) = try store.rescueExpiredLeases(maxAttempts: maxAttempts, now: now)
            if !requeued.isEmpty { DaemonLog.warning("rescued job(s) \(requeued.map(String.init).joined(separator: ", ")): their worker's lease expired; queued again") }
            if !failed.isEmpty { DaemonLog.error("job(s) \(failed.map(String.init).joined(separator: ", ")) failed: their workers stopped \(maxAttempts) times") }
            for id in requeued + failed { if let job = try store.job(id) { onJobEnd?(job) } }
        } catch {
            DaemonLog.error("rescuing expired leases: \(error)")
        }
    }

    private var lastSkewCheck = Date.distantPast
    /// The wait after a job hit a transient error (doubling to `maxBackoff`, back to `firstBackoff` after a success).
    private var transientBackoff = Worker.firstBackoff
    static let firstBackoff: Double = 2
    static let maxBackoff: Double = 300
    /// Past this many seconds between this host's clock and the database's, the worker warns.
    static let skewWarning: Double = 5

    /// Measures and records this host's clock against the database's, at start and every 10 minutes; warns past
    /// `skewWarning` seconds (leases are safe either way: they run on the database's clock).
    public func checkClockSkew(now: Date = Date()) {
        guard now.timeIntervalSince(lastSkewCheck) >= 600 else { return }
        lastSkewCheck = now
        do {
            let skew = try store.measureClockSkew(worker: id)
            if abs(skew) > Worker.skewWarning {
                DaemonLog.warning(String(format: "this host's clock is %.1f s %@ the database's: leases are measured on the database's clock, so jobs run normally, but times in this log are off; set up NTP (systemd-timesyncd, chrony)", abs(skew), skew > 0 ? "ahead of" : "behind"))
            }
        } catch {
            DaemonLog.error("comparing this host's clock with the database's: \(error)")
        }
    }

    /// What the last idle look found: paused or not, and how many jobs were queued.
    private var lastIdle: (paused: Bool, queued: Int)?

    /// Called when `runNext` found nothing to run: logs when the queue is paused with jobs waiting, each time that
    /// number changes, so a log (and a test) can see that the worker looked and declined.
    public func noteIdle() {
        guard let paused = try? store.isPaused() else { return }
        guard paused else {
            lastIdle = (false, 0)  // the common case costs one read; jobs are counted only while paused
            return
        }
        guard let queued = try? store.counts()[.queued] ?? 0 else { return }
        defer { lastIdle = (paused, queued) }
        guard queued > 0, lastIdle.map({ !$0.paused || $0.queued != queued }) ?? true else { return }
        DaemonLog.info("the queue is paused: \(queued) job(s) wait for `darkroom resume`")
    }

    /// Runs the next queued job; returns false when the queue was empty or paused.
    @discardableResult
    public func runNext() throws -> Bool {
        checkClockSkew()
        rescueExpired()
        let claimedAt = Heartbeat.now()
        guard let job = try store.claimNext(worker: id, lease: lease, preferredModel: loadedModel, now: Date()) else { return false }
        let claim = Claim(job)
        let jobID = claim.id
        DaemonLog.info("job \(jobID) '\(JobError.quote(job.name))' started (\(job.mode), attempt \(job.attempts), worker \(id))")
        liveness.begin(jobID)
        defer { liveness.end() }
        let keeper = LeaseKeeper(store: store, claim: claim, lease: lease, renewEvery: renewEvery, liveness: liveness, claimedAt: claimedAt)
        keeper.start()
        defer { keeper.stop() }
        let folder = scratch.folder(for: jobID, attempt: claim.attempt)
        defer { try? FileManager.default.removeItem(at: folder) }
        let flag = CancelFlag()
        let stop = stopRequested, progress = onProgress, store = self.store, liveness = self.liveness, timeout = self.timeout
        let started = Heartbeat.now()
        let previewPath = folder.appendingPathComponent(JobFiles.preview).path
        var monitor = JobMonitor(report: { p in
            let preview = p.preview == nil ? nil : FileManager.default.contents(atPath: previewPath)
            try? store.setProgress(claim, p, preview: preview)
            progress?(job, p)
        }, shouldStop: {
            if stop() || keeper.lost { return true }
            if let timeout, Heartbeat.now() - started > timeout { flag.timedOut = true; return true }
            if (try? store.cancelRequested(jobID)) == true { flag.cancelled = true }
            return flag.cancelled
        }, note: { DaemonLog.info("job \(jobID): \($0)") })
        monitor.pulse = { liveness.progressed($0) }
        do {
            defer { loadedModel = job.model }
            var local = job
            local.folder = folder.path
            try Worker.materialize(try store.inputs(of: jobID), in: folder)
            let prepared = try JobRunner.Prepared(job: local)
            let result = try runner.execute(prepared, outFolder: folder.path, monitor: monitor)
            let (records, files) = try Worker.collect(result.outputs, for: job)
            try beforeFinish?(job, records, files)
            try store.finish(claim, results: records, files: files, timings: result.seconds, now: Date())
            transientBackoff = Worker.firstBackoff
            DaemonLog.info("job \(jobID) done in \(String(format: "%.2f", result.seconds.values.reduce(0, +))) s: \(records.count) files")
        } catch let lost as ClaimLost {
            DaemonLog.warning("job \(jobID): \(lost)")
            return true
        } catch let stopped as JobInterrupted {
            if keeper.lost {
                // Handed back at once if the claim still holds (the database was away, nobody took the job).
                if (try? store.requeue(claim)) == true {
                    DaemonLog.warning("job \(jobID): stopped because its lease could not be renewed in time; returned to the queue")
                } else {
                    DaemonLog.warning("job \(jobID): stopped because \(ClaimLost(claim))")
                }
                return true
            }
            do {
                if flag.timedOut, let timeout {
                    let message = String(format: "ran longer than job_timeout_seconds (%.0f s); stopped at a step", timeout)
                    try store.fail(claim, error: message, now: Date())
                    DaemonLog.error("job \(jobID) failed: \(message)")
                } else if try flag.cancelled || store.cancelRequested(jobID) {
                    let (records, files) = try Worker.collect(stopped.outputs, for: job)
                    try store.markCancelled(claim, results: records, files: files, now: Date())
                    DaemonLog.info("job \(jobID) cancelled; kept \(records.count) file(s)")
                } else {
                    try store.requeue(claim)
                    DaemonLog.info("job \(jobID) stopped and returned to the queue")
                }
            } catch let lost as ClaimLost {
                DaemonLog.warning("job \(jobID): \(lost)")
                return true
            }
        } catch where FaultKind.of(error, in: .job) == .transient {
            // Not the job's fault (the database away, the gallery's disk full): back to the queue, tried again later.
            let wait = transientBackoff
            transientBackoff = min(transientBackoff * 2, Worker.maxBackoff)
            if (try? store.requeue(claim)) == true {
                DaemonLog.error("job \(jobID): \(error): not the job's fault; returned to the queue, trying again in \(Int(wait)) s")
            } else {
                DaemonLog.error("job \(jobID): \(error): not the job's fault; it could not be handed back now, so its lease runs out (in \(Int(lease)) s) and the queue takes it back")
            }
            let until = Date().addingTimeInterval(wait)
            while Date() < until, !stopRequested() { Thread.sleep(forTimeInterval: 0.2) }
            return true
        } catch {
            do {
                try store.fail(claim, error: "\(error)", now: Date())
                DaemonLog.error("job \(jobID) failed: \(error)")
            } catch let lost as ClaimLost {
                DaemonLog.warning("job \(jobID): \(lost)")
                return true
            }
        }
        if let onJobEnd, let finished = try store.job(jobID) { onJobEnd(finished) }
        return true
    }

    /// Writes a job's stored inputs into its scratch folder under their names (`inputs/cat.png`).
    static func materialize(_ inputs: [JobFile], in folder: URL) throws {
        try FileManager.default.createDirectory(at: folder.appendingPathComponent(FolderLayout.inputs), withIntermediateDirectories: true)
        for f in inputs {
            guard JobFile.isSafeRelativeName(f.name) else { throw JobError(field: f.role, "stored input name '\(JobError.quote(f.name))' leaves the job folder") }
            let url = folder.appendingPathComponent(f.name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try f.data.write(to: url)
        }
    }

    /// The outputs' bytes and their result rows, named as they will be in the job's gallery folder.
    static func collect(_ outputs: [JobResult], for job: Job) throws -> ([JobResult], [Data]) {
        var records: [JobResult] = [], files: [Data] = []
        for output in outputs {
            let data = try Data(contentsOf: URL(fileURLWithPath: output.path))
            let name = (output.path as NSString).lastPathComponent
            records.append(JobResult(jobID: job.id!, kind: output.kind, path: (job.folder as NSString).appendingPathComponent(name),
                                     size: Int64(data.count), index: output.index))
            files.append(data)
        }
        return (records, files)
    }
}
