import DarkroomDaemon
import DarkroomGallery
import DarkroomJobs
import DarkroomModels
import DarkroomStore
import DarkroomTensor
import DarkroomTraining
import Foundation
import DarkroomSupport
import DarkroomJobModel

/// The queue's speed on each engine: the store alone (claim, one lease renewal, finish; no edit, no files) and end to
/// end (a trivial edit through real workers: inputs from the database, results into it, the gallery export).
public enum QueueBench {
    /// One measurement: jobs/s and latency percentiles in milliseconds (store alone: of a claim; end to end: of a job).
    public struct Figure: Sendable {
        public var engine: String
        public var workers: Int
        public var jobs: Int
        public var jobsPerSecond: Double
        public var p50: Double
        public var p99: Double
    }

    /// Claims, renews and finishes `jobs` jobs with `workers` threads, each on its own connection (as separate
    /// processes would be); `open` makes a connection to the same, freshly emptied database.
    public static func storeAlone(engine: String, workers: Int, jobs: Int, open: @Sendable () throws -> any JobStore) throws -> Figure {
        let setup = try open()
        for k in 0..<jobs {
            _ = try setup.enqueue(Job(name: "bench\(k)", mode: "generate", model: "m", prompt: "p", seed: Int64(k), parameters: .edit(EditRequest(mode: .generate)),
                                      inputHash: "bench-\(engine)-\(workers)-\(k)", folder: "/srv/gallery/jobs/\(k)"))
        }
        let stores = try (0..<workers).map { _ in try open() }
        let latencies = LatencyLog()
        let failure = FirstError()
        let start = DispatchTime.now().uptimeNanoseconds
        performConcurrently(workers) { w in
            let store = stores[w]
            do {
                while true {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    guard let job = try store.claimNext(worker: "bench/\(w)", lease: 30, preferredModel: nil, now: Date()) else { break }
                    latencies.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
                    let claim = Claim(job)
                    _ = try store.renewLease(claim, lease: 30, now: Date())
                    try store.finish(claim, results: [], files: [], timings: [:], now: Date())
                }
            } catch { failure.keep(error) }
        }
        if let error = failure.error { throw error }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let done = try setup.counts()[.done] ?? 0
        guard done == jobs else { throw StoreError("bench: \(done) of \(jobs) jobs done") }
        let sorted = latencies.values.sorted()
        return Figure(engine: engine, workers: workers, jobs: jobs, jobsPerSecond: Double(jobs) / seconds,
                      p50: sorted[sorted.count / 2], p99: sorted[min(sorted.count - 1, sorted.count * 99 / 100)])
    }

    /// `jobs` trivial generate jobs (a 4-wide random UNet, 2 sampler steps) through `workers` `Worker`s on threads of
    /// their own (each with its own connection and one engine thread), then exported into a gallery. Claim latencies
    /// are those the workers saw.
    public static func endToEnd(engine: String, workers: Int, jobs: Int, database: String, folder: URL) throws -> Figure {
        let modelDir = folder.appendingPathComponent("models/tiny").path
        if !FileManager.default.fileExists(atPath: modelDir) {
            let model = TrainableUNet(config: TinyUNetConfig(channels: 1, hidden: 4, classes: ["cat", "dog"]), seed: 3)
            try TrainingCheckpoint.saveModel(model, to: modelDir)
        }
        var config = DarkroomConfig(inbox: folder.appendingPathComponent("inbox").path, gallery: folder.appendingPathComponent("gallery-\(engine)-\(workers)").path,
                                    database: database, templates: nil, models: ["tiny": modelDir], defaultModel: "tiny",
                                    path: folder.appendingPathComponent("config.json").path)
        config.stride = 150
        Engine.threads = 1
        let runner = JobRunner(config: config, library: ModelLibrary())
        let intake = try openJobStore(database)
        let sidecar = Data(#"{"prompt": "a cat"}"#.utf8)
        for k in 0..<jobs {
            var request = try runner.prepare(try Sidecar(json: sidecar), image: nil, mask: nil).request
            request.seed = UInt64(k)
            var job = Job(name: "e2e\(k)", request: request, model: "tiny", inputHash: "e2e-\(engine)-\(workers)-\(k)")
            job.folder = FolderLayout.jobFolder(gallery: config.gallery, id: Int64(k + 1))
            _ = try intake.enqueue(job, inputs: [JobFile(role: "sidecar", name: "inputs/e2e\(k).json", data: sidecar)])
        }
        let gallery = try Gallery(folder: config.gallery, store: intake)
        let pool = try (0..<workers).map { w in try Worker(store: try openJobStore(database), runner: runner, id: "bench/\(engine)/\(w)", config: config) }
        let latencies = LatencyLog()
        let failure = FirstError()
        let start = DispatchTime.now().uptimeNanoseconds
        // The gallery host exports on its own thread while the workers run, as `watch --no-worker` does.
        // nonisolated(unsafe): the gallery is used by this one thread only.
        nonisolated(unsafe) let exporter = gallery
        let exported = DispatchSemaphore(value: 0)
        let exporting = Thread {
            defer { exported.signal() }
            while (try? intake.counts()[.done] ?? 0) ?? 0 < jobs || !((try? intake.jobsToExport(limit: 1)) ?? []).isEmpty {
                do { try exporter.exportEnded() } catch { failure.keep(error); return }
                Thread.sleep(forTimeInterval: 0.01)
            }
        }
        exporting.start()
        performConcurrently(workers) { w in
            do {
                while true {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    guard try pool[w].runNext() else { break }
                    latencies.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
                }
            } catch { failure.keep(error) }
        }
        exported.wait()
        if let error = failure.error { throw error }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let sorted = latencies.values.sorted()
        return Figure(engine: engine, workers: workers, jobs: jobs, jobsPerSecond: Double(jobs) / seconds,
                      p50: sorted[sorted.count / 2], p99: sorted[min(sorted.count - 1, sorted.count * 99 / 100)])
    }
}

/// Durations appended from several threads.
final class LatencyLog: @unchecked Sendable {
    // @unchecked: `stored` is only touched while `lock` is held.
    private let lock = NSLock()
    private var stored: [Double] = []
    func append(_ v: Double) { lock.withLock { stored.append(v) } }
    var values: [Double] { lock.withLock { stored } }
}
