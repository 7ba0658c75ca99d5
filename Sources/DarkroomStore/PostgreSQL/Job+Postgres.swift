import Foundation
import DarkroomJobModel
import PostgresNIO

extension Job {
    /// The `jobs` columns a `Job` holds, in the order `init(postgres:)` reads them (never the preview's bytes).
    static let postgresColumns = """
        id, name, state, mode, model, prompt, seed, parameters, input_hash, folder, image, mask, attempts, error,
        created_at, started_at, finished_at, timings, priority, progress, cancel_requested, worker, lease_expires_at, preset, starred
        """

    /// A job from a row of `postgresColumns`.
    init(postgres row: PostgresRow) throws {
        let r = row.makeRandomAccess()
        func v<T: PostgresDecodable>(_ column: String, _ type: T.Type) throws -> T { try r[column].decode(T.self) }
        let stateText = try v("state", String.self)
        guard let state = JobState(rawValue: stateText) else { throw StoreError("jobs: unknown state '\(stateText)'") }
        self.init(name: try v("name", String.self), mode: try v("mode", String.self), model: try v("model", String.self),
                  prompt: try v("prompt", String.self), seed: try v("seed", Int64.self),
                  parameters: JobParameters(json: try v("parameters", String.self), state: state),
                  inputHash: try v("input_hash", String.self), folder: try v("folder", String.self), state: state,
                  createdAt: try v("created_at", Date.self))
        id = try v("id", Int64.self)
        image = try v("image", String?.self)
        mask = try v("mask", String?.self)
        attempts = try v("attempts", Int.self)
        error = try v("error", String?.self)
        startedAt = try v("started_at", Date?.self)
        finishedAt = try v("finished_at", Date?.self)
        timings = try v("timings", String?.self).map { try JobTimings(json: $0) }
        priority = try v("priority", Int.self)
        // A display hint rewritten every second: one that does not decode shows as none.
        progress = try v("progress", String?.self).flatMap { try? JobProgress(json: $0) }
        cancelRequested = try v("cancel_requested", Bool.self)
        worker = try v("worker", String?.self)
        leaseExpiresAt = try v("lease_expires_at", Date?.self)
        preset = try v("preset", String?.self)
        starred = try v("starred", Bool.self)
    }
}

extension JobResult {
    init(postgres row: PostgresRow) throws {
        let r = row.makeRandomAccess()
        let kindText = try r["kind"].decode(String.self)
        guard let kind = ResultKind(rawValue: kindText) else { throw StoreError("results: unknown kind '\(kindText)'") }
        self.init(jobID: try r["job_id"].decode(Int64.self), kind: kind, path: try r["path"].decode(String.self),
                  size: try r["size"].decode(Int64.self), index: try r["step"].decode(Int?.self))
        id = try r["id"].decode(Int64.self)
    }
}
