import Foundation
import DarkroomJobModel
import GRDB

/// Claims with leases, fenced reports and rescues: what workers do to the queue.
extension SQLiteJobStore {
    static func registerLeaseMigration(_ m: inout DatabaseMigrator) {
        m.registerMigration("v5: leases, fencing, files in the database") { db in
            try db.alter(table: "jobs") { t in
                t.add(column: "worker", .text)
                t.add(column: "lease_expires_at", .datetime)
                // Jobs that ended before this version have their files in the gallery already.
                t.add(column: "exported", .boolean).notNull().defaults(to: true)
                t.add(column: "preview", .blob)
            }
            try db.alter(table: "results") { t in t.add(column: "data", .blob) }
            try db.create(table: "job_inputs") { t in
                t.column("job_id", .integer).notNull().references("jobs", onDelete: .cascade)
                t.column("role", .text).notNull()
                t.column("name", .text).notNull()
                t.column("data", .blob).notNull()
                t.primaryKey(["job_id", "name"])
            }
            try db.create(index: "jobs_to_export", on: "jobs", columns: ["exported"], condition: Column("exported") == false)
        }
        // The schema PostgreSQL has (there it finds a claim whose reply was lost; one process's SQLite never loses one).
        m.registerMigration("v6: claim tokens") { db in
            try db.alter(table: "jobs") { t in t.add(column: "claim_token", .text) }
        }
        m.registerMigration("v7: presets") { db in
            try db.alter(table: "jobs") { t in t.add(column: "preset", .text) }
        }
    }

    /// The fencing condition every report carries: the job is running under this very claim.
    static let heldBy = "id = ? AND state = 'running' AND attempts = ? AND worker = ?"
    static func heldArguments(_ c: Claim) -> StatementArguments { [c.id, c.attempt, c.worker] }

    public func claimNext(worker: String, lease: TimeInterval, preferredModel: String?, now: Date) throws -> Job? {
        try writer.write { db in
            try Job.fetchOne(db, sql: """
                UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = ?, error = NULL,
                    worker = ?, lease_expires_at = ?, progress = NULL, preview = NULL
                WHERE NOT EXISTS (SELECT 1 FROM meta WHERE key = 'paused' AND value = '1')
                    AND id = (SELECT id FROM jobs WHERE state = 'queued' ORDER BY priority DESC, (model = ?) DESC, id LIMIT 1)
                RETURNING *
                """, arguments: [now, worker, now.addingTimeInterval(lease), preferredModel])
        }
    }

    public func measureClockSkew(worker: String) throws -> TimeInterval { 0 }

    public func renewLease(_ claim: Claim, lease: TimeInterval, now: Date) throws -> Bool {
        try writer.write { db in
            try db.execute(sql: "UPDATE jobs SET lease_expires_at = ? WHERE \(Self.heldBy)",
                           arguments: [now.addingTimeInterval(lease)] + Self.heldArguments(claim))
            return db.changesCount == 1
        }
    }

    public func inputs(of id: Int64) throws -> [JobFile] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT role, name, data FROM job_inputs WHERE job_id = ? ORDER BY name", arguments: [id])
                .map { JobFile(role: $0["role"], name: $0["name"], data: $0["data"]) }
        }
    }

    public func setProgress(_ claim: Claim, _ progress: JobProgress, preview: Data?) throws {
        let json = progress.json
        try writer.write { db in
            try db.execute(sql: "UPDATE jobs SET progress = ?, preview = COALESCE(?, preview) WHERE \(Self.heldBy)",
                           arguments: [json, preview] + Self.heldArguments(claim))
        }
    }

    /// Ends the claimed job in `state` with `results`; throws `ClaimLost` (writing nothing) when the claim is gone.
    public func end(_ claim: Claim, as state: JobState, error: String?, results: [JobResult], files: [Data], timings: JobTimings?, now: Date) throws {
        precondition(files.isEmpty || files.count == results.count, "one file per result, or none")
        try writer.write { db in
            try db.execute(sql: """
                UPDATE jobs SET state = ?, error = ?, finished_at = ?, timings = COALESCE(?, timings), progress = NULL,
                    cancel_requested = 0, lease_expires_at = NULL, exported = 0 WHERE \(Self.heldBy)
                """, arguments: [state.rawValue, error, now, timings?.json] + Self.heldArguments(claim))
            guard db.changesCount == 1 else { throw ClaimLost(claim) }
            guard state != .failed else { return }
            try db.execute(sql: "DELETE FROM results WHERE job_id = ?", arguments: [claim.id])
            for (k, r) in results.enumerated() {
                try db.execute(sql: "INSERT INTO results (job_id, kind, path, size, step, data) VALUES (?, ?, ?, ?, ?, ?)",
                               arguments: [claim.id, r.kind.rawValue, r.path, r.size, r.index, files.isEmpty ? nil : files[k]])
            }
        }
    }

    @discardableResult
    public func requeue(_ claim: Claim) throws -> Bool {
        try writer.write { db in
            try db.execute(sql: """
                UPDATE jobs SET state = 'queued', attempts = MAX(attempts - 1, 0), progress = NULL, worker = NULL,
                    lease_expires_at = NULL WHERE \(Self.heldBy)
                """, arguments: Self.heldArguments(claim))
            return db.changesCount == 1
        }
    }

    public func rescueExpiredLeases(maxAttempts: Int, now: Date) throws -> (requeued: [Int64], failed: [Int64]) {
        try rescue(where: "(lease_expires_at IS NULL OR lease_expires_at < ?)", [now], maxAttempts: maxAttempts, now: now)
    }

    public func recoverJobs(of worker: String, maxAttempts: Int, now: Date) throws -> (requeued: [Int64], failed: [Int64]) {
        try rescue(where: "worker = ?", [worker], maxAttempts: maxAttempts, now: now)
    }

    /// Running jobs matching `condition`: cancelled when a cancel was asked, failed past `maxAttempts`, else queued.
    func rescue(where condition: String, _ arguments: StatementArguments, maxAttempts: Int, now: Date) throws -> (requeued: [Int64], failed: [Int64]) {
        try writer.write { db in
            let ended = "finished_at = ?, progress = NULL, cancel_requested = 0, worker = NULL, lease_expires_at = NULL, exported = 0"
            try db.execute(sql: """
                UPDATE jobs SET state = 'cancelled', error = 'cancelled while running (its worker stopped)', \(ended)
                WHERE state = 'running' AND cancel_requested = 1 AND \(condition)
                """, arguments: [now] + arguments)
            let failed = try Int64.fetchAll(db, sql: """
                UPDATE jobs SET state = 'failed', \(ended),
                    error = COALESCE(error, 'the worker stopped during this job ' || attempts || ' times')
                WHERE state = 'running' AND attempts >= ? AND \(condition) RETURNING id
                """, arguments: [now, maxAttempts] + arguments)
            let requeued = try Int64.fetchAll(db, sql: """
                UPDATE jobs SET state = 'queued', progress = NULL, worker = NULL, lease_expires_at = NULL
                WHERE state = 'running' AND \(condition) RETURNING id
                """, arguments: arguments)
            return (requeued, failed)
        }
    }

    public func waitForChange(_ topic: StoreTopic, timeout: TimeInterval) -> Bool {
        // SQLite has no notifications between processes: callers poll, and inside one process they signal each other.
        Thread.sleep(forTimeInterval: max(0, timeout))
        return false
    }
}
