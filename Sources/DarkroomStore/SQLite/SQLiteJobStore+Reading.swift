import Foundation
import DarkroomJobModel
import GRDB

/// What listings, `status` and the gallery read.
extension SQLiteJobStore {
    public func job(_ id: Int64) throws -> Job? { try writer.read { try Job.fetchOne($0, key: id) } }

    public func jobs(state: JobState?, limit: Int?, offset: Int) throws -> [Job] {
        try writer.read { db in
            var request = Job.order(Column("id").desc)
            if let state { request = request.filter(Column("state") == state.rawValue) }
            if let limit { request = request.limit(limit, offset: offset) }
            return try request.fetchAll(db)
        }
    }

    public func newerJobCount(than id: Int64) throws -> Int {
        try writer.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM jobs WHERE id > ?", arguments: [id]) ?? 0 }
    }

    public func modes() throws -> [String] {
        try writer.read { try String.fetchAll($0, sql: "SELECT DISTINCT mode FROM jobs ORDER BY mode") }
    }

    public func presets() throws -> [String] {
        try writer.read { try String.fetchAll($0, sql: "SELECT DISTINCT preset FROM jobs WHERE preset IS NOT NULL ORDER BY preset") }
    }

    public func results(of jobID: Int64) throws -> [JobResult] {
        try writer.read { try JobResult.filter(Column("job_id") == jobID).order(Column("id")).fetchAll($0) }
    }

    public func allResults() throws -> [Int64: [JobResult]] {
        try writer.read { db in Dictionary(grouping: try JobResult.order(Column("id")).fetchAll(db), by: \.jobID) }
    }

    public func thumbnails(of ids: [Int64]?) throws -> [Int64: String] {
        try writer.read { db in
            var out: [Int64: String] = [:]
            let filter = ids.map { "AND job_id IN (\($0.map(String.init).joined(separator: ",")))" } ?? ""
            for row in try Row.fetchAll(db, sql: "SELECT job_id, path FROM results WHERE kind = 'result' \(filter) ORDER BY id DESC") {
                out[row["job_id"]] = row["path"]
            }
            return out
        }
    }

    public func counts() throws -> [JobState: Int] {
        try writer.read { db in
            var out: [JobState: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM jobs GROUP BY state") {
                if let s = JobState(rawValue: row["state"]) { out[s] = row["n"] }
            }
            return out
        }
    }

    public func resultFiles(of jobID: Int64) throws -> [Int64: Data] {
        try writer.read { db in
            var out: [Int64: Data] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, data FROM results WHERE job_id = ? AND data IS NOT NULL", arguments: [jobID]) {
                out[row["id"]] = row["data"]
            }
            return out
        }
    }

    public func preview(of id: Int64) throws -> Data? {
        try writer.read { try Data.fetchOne($0, sql: "SELECT preview FROM jobs WHERE id = ?", arguments: [id]) }
    }

    public func forgetMissingResults() throws -> Int {
        let missing = try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT id, path FROM results WHERE data IS NULL")
                .filter { !FileManager.default.fileExists(atPath: $0["path"]) }.map { $0["id"] as Int64 }
        }
        try writer.write { db in _ = try JobResult.deleteAll(db, keys: missing) }
        return missing.count
    }

    public func jobsToExport(limit: Int) throws -> [Int64] {
        try writer.read { try Int64.fetchAll($0, sql: "SELECT id FROM jobs WHERE exported = 0 ORDER BY id LIMIT ?", arguments: [limit]) }
    }

    public func markExported(_ id: Int64, endedAt: Date?) throws {
        try writer.write {
            try $0.execute(sql: "UPDATE jobs SET exported = 1 WHERE id = ? AND state NOT IN ('queued', 'running') AND finished_at IS ?",
                           arguments: [id, endedAt])
        }
    }
}
