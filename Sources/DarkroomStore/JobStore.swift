import Foundation
import GRDB

/// The job queue: SQLite in WAL mode with a busy timeout, versioned migrations, one-statement claims.
// @unchecked Sendable: its only state is GRDB's database writer, which serialises writes and is itself thread-safe.
public final class JobStore: @unchecked Sendable {
    public let writer: any DatabaseWriter

    /// Opens (creating and migrating) the database at `path`.
    public init(path: String) throws {
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            // In WAL mode NORMAL syncs at checkpoints, not at every commit: a power cut may lose the last
            // transactions, never corrupt the file, and a crash of the process loses nothing.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            // Which migrations are applied is read before each one's transaction, and a new database switches to WAL
            // without waiting on the busy timeout: a second process opening a new database at the same moment
            // (`darkroom status` beside a starting daemon) can lose either race. Its work then rolls back, and opening
            // again finds the other's done.
            var attempt = 0
            var opened: DatabasePool?
            while opened == nil {
                do {
                    let pool = try DatabasePool(path: path, configuration: config)
                    try JobStore.migrator.migrate(pool)
                    opened = pool
                } catch let error as DatabaseError where attempt < 20 && error.resultCode != .SQLITE_CANTOPEN
                    && error.resultCode != .SQLITE_NOTADB {
                    attempt += 1
                    Thread.sleep(forTimeInterval: 0.02 * Double(attempt))
                }
            }
            writer = opened!
        } catch let error as DatabaseError {
            throw StoreError(JobStore.explain(error, path: path))
        }
    }

    /// A database error as a person can act on it: the key, the file and what to check.
    static func explain(_ error: DatabaseError, path: String) -> String {
        let folder = (path as NSString).deletingLastPathComponent
        switch error.resultCode {
        case .SQLITE_CANTOPEN:
            return "database: cannot open \(path): check that the folder \(folder.isEmpty ? "." : folder) exists and is writable by this user, and that \"database\" in config.json names a file"
        case .SQLITE_NOTADB, .SQLITE_CORRUPT:
            return "database: \(path) is not a Darkroom database (or is damaged): point \"database\" in config.json at another file"
        case .SQLITE_READONLY, .SQLITE_PERM:
            return "database: \(path) is read-only for this user: fix its permissions or those of its folder"
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return "database: \(path) stayed locked by another process for 10 s: \(error.message ?? "busy")"
        default:
            return "database: \(path): \(error.message ?? "\(error)")"
        }
    }

    /// An in-memory store (tests).
    public init() throws {
        var config = Configuration()
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA foreign_keys = ON") }
        writer = try DatabaseQueue(configuration: config)
        try JobStore.migrator.migrate(writer)
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1: jobs and results") { db in
            try db.create(table: "jobs") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull()
                t.column("state", .text).notNull().indexed()
                    .check(sql: "state IN ('queued', 'running', 'done', 'failed', 'rejected')")
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
            }
            try db.create(table: "results") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("job_id", .integer).notNull().indexed().references("jobs", onDelete: .cascade)
                t.column("kind", .text).notNull()
                t.column("path", .text).notNull()
                t.column("size", .integer).notNull()
                t.column("step", .integer)
            }
        }
        m.registerMigration("v2: prompt embeddings") { db in
            try db.create(table: "prompt_embeddings") { t in
                t.column("encoder", .text).notNull()
                t.column("prompt", .text).notNull()
                t.column("shape", .text).notNull()
                t.column("data", .blob).notNull()
                t.column("created_at", .datetime).notNull()
                t.primaryKey(["encoder", "prompt"])
            }
        }
        registerIdentityMigration(&m)
        registerControlMigration(&m)
        return m
    }

    /// Adds a job unless one with the same input hash exists; returns the job and whether it is new.
    public func enqueue(_ job: Job) throws -> (job: Job, inserted: Bool) {
        try writer.write { db in
            if let existing = try Job.filter(Column("input_hash") == job.inputHash).fetchOne(db) {
                return (existing, false)
            }
            var j = job
            try j.insert(db)
            return (j, true)
        }
    }

    /// Returns a running job to the queue without counting the attempt (a clean stop, not a crash).
    public func requeue(_ id: Int64) throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE jobs SET state = 'queued', attempts = MAX(attempts - 1, 0), progress = NULL WHERE id = ? AND state = 'running'",
                           arguments: [id])
        }
    }

    /// Atomically moves the queued job of highest priority, oldest first among equals, to `running` (one UPDATE … RETURNING) and returns it.
    public func claimNext(now: Date = Date()) throws -> Job? {
        try writer.write { db in
            try Job.fetchOne(db, sql: """
                UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = ?, error = NULL
                WHERE id = (SELECT id FROM jobs WHERE state = 'queued' ORDER BY priority DESC, id LIMIT 1)
                RETURNING *
                """, arguments: [now])
        }
    }

    /// Marks a running job done and records its files and timings.
    public func finish(_ id: Int64, results: [JobResult], timings: [String: Double], now: Date = Date()) throws {
        let json = String(decoding: try JSONEncoder().encode(timings), as: UTF8.self)
        try writer.write { db in
            try db.execute(sql: "UPDATE jobs SET state = 'done', finished_at = ?, timings = ?, error = NULL, progress = NULL, cancel_requested = 0 WHERE id = ?",
                           arguments: [now, json, id])
            try db.execute(sql: "DELETE FROM results WHERE job_id = ?", arguments: [id])
            for var r in results {
                r.jobID = id
                try r.insert(db)
            }
        }
    }

    /// Marks a job failed (or rejected), keeping the error text.
    public func fail(_ id: Int64, error: String, state: JobState = .failed, now: Date = Date()) throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE jobs SET state = ?, error = ?, finished_at = ?, progress = NULL, cancel_requested = 0 WHERE id = ?",
                           arguments: [state.rawValue, error, now, id])
        }
    }

    /// After a crash: jobs left `running` go back to `queued`, or become `failed` once they have used up
    /// `maxAttempts` (a job that keeps crashing the worker is poison). Returns the ids of each.
    @discardableResult
    public func recoverInterrupted(maxAttempts: Int, now: Date = Date()) throws -> (requeued: [Int64], failed: [Int64]) {
        try writer.write { db in
            let failed = try Int64.fetchAll(db, sql: """
                UPDATE jobs SET state = 'failed', finished_at = ?, progress = NULL, cancel_requested = 0,
                    error = COALESCE(error, 'the worker stopped during this job ' || attempts || ' times')
                WHERE state = 'running' AND attempts >= ? RETURNING id
                """, arguments: [now, maxAttempts])
            let requeued = try Int64.fetchAll(db, sql: "UPDATE jobs SET state = 'queued', progress = NULL WHERE state = 'running' RETURNING id")
            return (requeued, failed)
        }
    }

    /// Puts a failed or cancelled job back in the queue with a fresh attempt count. (A rejected drop has nothing to
    /// run: its files are in the inbox's `rejected/`, to be fixed and dropped again.)
    public func retry(_ id: Int64) throws -> Bool {
        try writer.write { db in
            try db.execute(sql: "UPDATE jobs SET state = 'queued', attempts = 0, error = NULL, cancel_requested = 0, finished_at = NULL WHERE id = ? AND state IN ('failed', 'cancelled')",
                           arguments: [id])
            return db.changesCount == 1
        }
    }

    public func job(_ id: Int64) throws -> Job? { try writer.read { try Job.fetchOne($0, key: id) } }

    /// Jobs, newest first, optionally of one state.
    public func jobs(state: JobState? = nil, limit: Int? = nil, offset: Int = 0) throws -> [Job] {
        try writer.read { db in
            var request = Job.order(Column("id").desc)
            if let state { request = request.filter(Column("state") == state.rawValue) }
            if let limit { request = request.limit(limit, offset: offset) }
            return try request.fetchAll(db)
        }
    }

    /// How many jobs are newer than job `id` (its position in a newest-first listing).
    public func newerJobCount(than id: Int64) throws -> Int {
        try writer.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM jobs WHERE id > ?", arguments: [id]) ?? 0 }
    }

    /// Every mode jobs have (for listings' filters).
    public func modes() throws -> [String] {
        try writer.read { try String.fetchAll($0, sql: "SELECT DISTINCT mode FROM jobs ORDER BY mode") }
    }

    public func results(of jobID: Int64) throws -> [JobResult] {
        try writer.read { try JobResult.filter(Column("job_id") == jobID).order(Column("id")).fetchAll($0) }
    }

    /// Every result row, grouped by job (one query, for gallery rebuilds).
    public func allResults() throws -> [Int64: [JobResult]] {
        try writer.read { db in Dictionary(grouping: try JobResult.order(Column("id")).fetchAll(db), by: \.jobID) }
    }

    /// The first result image of every job that has one (job id → path), in one query.
    public func thumbnails(of ids: [Int64]? = nil) throws -> [Int64: String] {
        try writer.read { db in
            var out: [Int64: String] = [:]
            let filter = ids.map { "AND job_id IN (\($0.map(String.init).joined(separator: ",")))" } ?? ""
            for row in try Row.fetchAll(db, sql: "SELECT job_id, path FROM results WHERE kind = 'result' \(filter) ORDER BY id DESC") {
                out[row["job_id"]] = row["path"]
            }
            return out
        }
    }

    /// Number of jobs per state.
    public func counts() throws -> [JobState: Int] {
        try writer.read { db in
            var out: [JobState: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM jobs GROUP BY state") {
                if let s = JobState(rawValue: row["state"]) { out[s] = row["n"] }
            }
            return out
        }
    }

    /// Removes result rows whose files are gone; returns how many.
    public func forgetMissingResults() throws -> Int {
        let missing = try writer.read { db in
            try JobResult.fetchAll(db).filter { !FileManager.default.fileExists(atPath: $0.path) }.compactMap(\.id)
        }
        try writer.write { db in _ = try JobResult.deleteAll(db, keys: missing) }
        return missing.count
    }
}
