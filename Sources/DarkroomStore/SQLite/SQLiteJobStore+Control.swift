import Foundation
import DarkroomJobModel
import GRDB

/// Cancel, pause and priority: what people do to jobs while they wait or run.
extension SQLiteJobStore {
    static func registerControlMigration(_ m: inout DatabaseMigrator) {
        m.registerMigration("v4: cancelled state, priority, progress, cancel requests") { db in
            // SQLite cannot change a CHECK constraint in place: the table is rebuilt (foreign keys are checked after).
            try db.create(table: "jobs_v4") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull()
                t.column("state", .text).notNull()
                    .check(sql: "state IN ('queued', 'running', 'done', 'failed', 'rejected', 'cancelled')")
                t.column("mode", .text).notNull()
                t.column("model", .text).notNull()
                t.column("prompt", .text).notNull()
                t.column("seed", .integer).notNull()
                t.column("parameters", .text).notNull()
                t.column("input_hash", .text).notNull().unique()
                t.column("folder", .text).notNull()
                t.column("image", .text)
                t.column("mask", .text)
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.column("error", .text)
                t.column("created_at", .datetime).notNull()
                t.column("started_at", .datetime)
                t.column("finished_at", .datetime)
                t.column("timings", .text)
                t.column("priority", .integer).notNull().defaults(to: 0)
                t.column("progress", .text)
                t.column("cancel_requested", .boolean).notNull().defaults(to: false)
            }
            try db.execute(sql: """
                INSERT INTO jobs_v4 (id, name, state, mode, model, prompt, seed, parameters, input_hash, folder, image, mask,
                                     attempts, error, created_at, started_at, finished_at, timings)
                SELECT id, name, state, mode, model, prompt, seed, parameters, input_hash, folder, image, mask,
                       attempts, error, created_at, started_at, finished_at, timings FROM jobs
                """)
            try db.drop(table: "jobs")
            try db.rename(table: "jobs_v4", to: "jobs")
            try db.create(index: "jobs_on_state", on: "jobs", columns: ["state"])
            try db.create(index: "jobs_claim_order", on: "jobs", columns: ["state", "priority", "id"])
        }
    }

    public func cancel(_ id: Int64, now: Date) throws -> JobState? {
        try writer.write { db in
            guard let job = try Job.fetchOne(db, key: id) else { return nil }
            switch job.state {
            case .queued:
                try db.execute(sql: "UPDATE jobs SET state = 'cancelled', finished_at = ?, error = 'cancelled before it started', exported = 0 WHERE id = ?",
                               arguments: [now, id])
            case .running:
                try db.execute(sql: "UPDATE jobs SET cancel_requested = 1 WHERE id = ?", arguments: [id])
            default: break
            }
            return job.state
        }
    }

    public func cancelRequested(_ id: Int64) throws -> Bool {
        try writer.read { try Bool.fetchOne($0, sql: "SELECT cancel_requested FROM jobs WHERE id = ?", arguments: [id]) ?? false }
    }

    public func retry(_ id: Int64) throws -> Bool {
        try writer.write { db in
            try db.execute(sql: "UPDATE jobs SET state = 'queued', attempts = 0, error = NULL, cancel_requested = 0, finished_at = NULL WHERE id = ? AND state IN ('failed', 'cancelled')",
                           arguments: [id])
            return db.changesCount == 1
        }
    }

    public func fail(_ id: Int64, error: String, state: JobState, now: Date) throws {
        try writer.write { db in
            try db.execute(sql: """
                UPDATE jobs SET state = ?, error = ?, finished_at = ?, progress = NULL, cancel_requested = 0, worker = NULL,
                    lease_expires_at = NULL, exported = 0 WHERE id = ? AND state != 'running'
                """, arguments: [state.rawValue, error, now, id])
        }
    }

    public func isPaused() throws -> Bool {
        try writer.read { try String.fetchOne($0, sql: "SELECT value FROM meta WHERE key = 'paused'") == "1" }
    }

    public func setPaused(_ paused: Bool) throws {
        try writer.write { db in
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('paused', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                           arguments: [paused ? "1" : "0"])
        }
    }
}
