import Foundation
import DarkroomDiffusion
import DarkroomJobs
import DarkroomStore

/// Claims queued jobs one at a time and runs them in their folders.
public final class Worker {
    let store: JobStore
    let runner: JobRunner
    /// Called after every finished, failed or re-queued job (the gallery hook).
    public var onJobEnd: ((JobRecord) -> Void)?
    /// Called at every sampler step of the running job.
    public var onStep: ((JobRecord, StepInfo) -> Void)?
    /// Set to stop: the running job is cancelled at its next step and returned to the queue.
    public var stopRequested: () -> Bool = { false }

    public init(store: JobStore, runner: JobRunner) {
        self.store = store
        self.runner = runner
    }

    /// Runs the next queued job; returns false when the queue was empty.
    @discardableResult
    public func runNext() throws -> Bool {
        guard let job = try store.claimNext() else { return false }
        let id = job.id!
        DaemonLog.info("job \(id) '\(job.name)' started (\(job.mode), attempt \(job.attempts))")
        Worker.removeStaleTemporaries(in: job.folder)
        do {
            let request = try JSONDecoder().decode(EditRequest.self, from: Data(job.parameters.utf8))
            let prepared = JobRunner.Prepared(request: request, model: job.model,
                                              image: job.image.map { (job.folder as NSString).appendingPathComponent($0) },
                                              mask: job.mask.map { (job.folder as NSString).appendingPathComponent($0) })
            var r = runner
            let stop = stopRequested
            let step = onStep
            r.progress = { info, _ in
                step?(job, info)
                return !stop()
            }
            let result = try r.execute(prepared, outFolder: job.folder)
            let records = result.outputs.map { path -> ResultRecord in
                let name = (path as NSString).lastPathComponent
                let size = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int).map(Int64.init) ?? 0
                return ResultRecord(jobID: id, kind: Worker.kind(of: name), path: path, size: size, step: Worker.index(of: name))
            }
            try store.finish(id, results: records, timings: result.seconds)
            DaemonLog.info("job \(id) done in \(String(format: "%.2f", result.seconds.values.reduce(0, +))) s: \(records.count) files")
        } catch DiffusionError.cancelled {
            try store.requeue(id)
            DaemonLog.info("job \(id) stopped and returned to the queue")
        } catch {
            try store.fail(id, error: "\(error)")
            DaemonLog.error("job \(id) failed: \(error)")
        }
        if let finished = try store.job(id) { onJobEnd?(finished) }
        return true
    }

    /// Removes `.NAME.PID.tmp` files a killed worker left behind (outputs are renamed into place only when complete).
    static func removeStaleTemporaries(in folder: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for n in names where FolderLayout.isDarkroomTemporary(n) {
            try? FileManager.default.removeItem(atPath: (folder as NSString).appendingPathComponent(n))
        }
    }

    static func kind(of name: String) -> String {
        if name.hasPrefix("result") { return "result" }
        if name == "comparison.png" { return "comparison" }
        if name.hasSuffix(".gif") { return "gif" }
        if name == "mask.png" { return "mask" }
        return "input"
    }

    static func index(of name: String) -> Int? {
        guard name.hasPrefix("result-") else { return name == "result.png" ? 1 : nil }
        return Int(name.dropFirst(7).prefix { $0.isNumber })
    }
}
