import Foundation
import DarkroomJobModel
import GRDB

/// The job queue in one SQLite file: WAL mode with a busy timeout, versioned migrations, one-statement claims. The
/// zero-setup default; several processes of one host may share it.
// @unchecked Sendable: its only state is GRDB's database writer, which serialises writes and is itself thread-safe.
public final class SQLiteJobStore: JobStore, @unchecked Sendable {
    public let writer: any DatabaseWriter
    public let engine = StoreEngine.sqlite
    public let location: String

    /// Opens (creating and migrating) the database at `path`; a write waits up to `busyTimeout` seconds for another
    /// process's lock, then fails with a transient error (retried by whoever called).
    public init(path: String, busyTimeout: TimeInterval = 10) throws {
        location = path
        var config = Configuration()
        config.busyMode = .timeout(busyTimeout)
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
                    if try pool.read({ try SQLiteJobStore.migrator.hasBeenSuperseded($0) }) {
                        throw StoreError("database: \(path) was written by a newer Darkroom (it has migrations this version does not know): upgrade Darkroom, or point \"database\" at another file")
                    }
                    try SQLiteJobStore.migrator.migrate(pool)
                    opened = pool
                } catch let error as DatabaseError where attempt < 20 && error.resultCode != .SQLITE_CANTOPEN
                    && error.resultCode != .SQLITE_NOTADB {
                    attempt += 1
                    Thread.sleep(forTimeInterval: 0.02 * Double(attempt))
                }
            }
            writer = opened!
        } catch let error as DatabaseError {
            throw StoreError(SQLiteJobStore.explain(error, path: path))
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
        location = ":memory:"
        var config = Configuration()
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA foreign_keys = ON") }
        writer = try DatabaseQueue(configuration: config)
        try SQLiteJobStore.migrator.migrate(writer)
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
        registerLeaseMigration(&m)
        registerNoticesMigration(&m)
        registerRetentionMigration(&m)
        return m
    }
}
