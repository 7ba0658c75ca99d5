import DarkroomBench
import DarkroomStore
import Foundation
import Logging

/// `darkroom bench --queue N`: the queue's figures on each engine, as a table.
struct QueueBenchReport {
    let jobs: Int
    let endToEnd: Int
    let postgres: String?

    func run() throws {
        // The workers log every job at info: only warnings and errors here, so that the table stays readable.
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("darkroom-queue-bench-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var engines: [(name: String, fresh: () throws -> String)] = []
        var round = 0
        engines.append(("sqlite", {
            round += 1
            return folder.appendingPathComponent("bench\(round).sqlite").path
        }))
        if let postgres {
            engines.append(("postgresql", {
                let store = try PostgresJobStore(url: postgres)
                try store.dropEverything()
                return postgres
            }))
        } else {
            print("(no --postgres URL: SQLite only)")
        }
        print("store alone: claim + lease renewal + finish, no edit, no files; \(jobs) jobs per case, each worker a thread with its own connection")
        print("engine      workers   jobs/s   claim p50 ms   claim p99 ms")
        for (name, fresh) in engines {
            for workers in [1, 2, 4] {
                let database = try fresh()
                let f = try QueueBench.storeAlone(engine: name, workers: workers, jobs: jobs) { try openJobStore(database) }
                print(String(format: "%-11@ %7d %8.0f %14.2f %14.2f", name, workers, f.jobsPerSecond, f.p50, f.p99))
            }
        }
        print("end to end: \(endToEnd) trivial generate jobs (a 4-wide UNet, 2 steps) per case: inputs from the database, results into it, exported into a gallery")
        print("engine      workers   jobs/s   job p50 ms     job p99 ms")
        for (name, fresh) in engines {
            for workers in [1, 2, 4] {
                let database = try fresh()
                let f = try QueueBench.endToEnd(engine: name, workers: workers, jobs: endToEnd, database: database, folder: folder)
                print(String(format: "%-11@ %7d %8.1f %14.2f %14.2f", name, workers, f.jobsPerSecond, f.p50, f.p99))
            }
        }
    }
}
