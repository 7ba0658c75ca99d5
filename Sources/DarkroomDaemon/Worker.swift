import Foundation
import DarkroomJobs
import DarkroomStore

/// Claims queued jobs one at a time (none while paused) and runs them in their folders, recording their progress;
/// a job asked to cancel stops at its next step and keeps what it has.
public final class Worker {
    let store: JobStore
    let runner: JobRunner
    /// Called after every finished, failed, cancelled or re-queued job (the gallery hook).
    public var onJobEnd: ((Job) -> Void)?
    /// Called with a running job's progress: at each stage change, and during sampling at most once a second.
    public var onProgress: ((Job, JobProgress) -> Void)?
    /// Set to stop: the running job stops at its next step and returns to the queue.
    public var stopRequested: () -> Bool = { false }

    public init(store: JobStore, runner: JobRunner) {
        self.store = store
        self.runner = runner
    }

    /// Whether a stop came from `darkroom cancel` (read on the worker's thread only).
    private final class CancelFlag { var cancelled = false }

    /// Runs the next queued job; returns false when the queue was empty or the worker is paused.
    @discardableResult
    public func runNext() throws -> Bool {
        if try store.isPaused() { return false }
        guard let job = try store.claimNext() else { return false }
        let id = job.id!
        DaemonLog.info("job \(id) '\(JobError.quote(job.name))' started (\(job.mode), attempt \(job.attempts))")
        let flag = CancelFlag()
        let stop = stopRequested, progress = onProgress, store = self.store
        let monitor = JobMonitor(report: { p in
            try? store.setProgress(id, p)
            progress?(job, p)
        }, shouldStop: {
            if stop() { return true }
            if (try? store.cancelRequested(id)) == true { flag.cancelled = true }
            return flag.cancelled
        })
        do {
            let prepared = try JobRunner.Prepared(job: job)
            let result = try runner.execute(prepared, outFolder: job.folder, monitor: monitor)
            try store.finish(id, results: Worker.records(result.outputs, job: id), timings: result.seconds)
            DaemonLog.info("job \(id) done in \(String(format: "%.2f", result.seconds.values.reduce(0, +))) s: \(result.outputs.count) files")
        } catch let stopped as JobInterrupted {
            if try flag.cancelled || store.cancelRequested(id) {
                try store.markCancelled(id, results: Worker.records(stopped.outputs, job: id))
                DaemonLog.info("job \(id) cancelled; kept \(stopped.outputs.count) file(s)")
            } else {
                try store.requeue(id)
                DaemonLog.info("job \(id) stopped and returned to the queue")
            }
        } catch {
            try store.fail(id, error: "\(error)")
            DaemonLog.error("job \(id) failed: \(error)")
        }
        if let finished = try store.job(id) { onJobEnd?(finished) }
        return true
    }

    static func records(_ outputs: [JobResult], job id: Int64) -> [JobResult] {
        outputs.map { output in
            let size = ((try? FileManager.default.attributesOfItem(atPath: output.path))?[.size] as? Int).map(Int64.init) ?? 0
            return JobResult(jobID: id, kind: output.kind, path: output.path, size: size, index: output.index)
        }
    }
}
