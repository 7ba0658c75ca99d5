import Foundation
import DarkroomJobModel
import GRDB

/// Stars and what retention removes, in SQLite.
extension SQLiteJobStore {
    static func registerRetentionMigration(_ m: inout DatabaseMigrator) {
        m.registerMigration("v9: starred jobs") { db in
            try db.alter(table: "jobs") { t in t.add(column: "starred", .boolean).notNull().defaults(to: false) }
        }
    }

    public func setStarred(_ id: Int64, _ starred: Bool) throws -> Bool {
        try writer.write { db in
            // exported = 0: the gallery host writes the job's page and the index again, with or without the star.
            try db.execute(sql: "UPDATE jobs SET starred = ?, exported = CASE WHEN state IN ('queued', 'running') THEN exported ELSE 0 END WHERE id = ?",
                           arguments: [starred, id])
            return db.changesCount == 1
        }
    }

    public func jobsPastRetention(_ policy: RetentionPolicy, now: Date) throws -> [Job] {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let cutoff = policy.cutoff(now: now) {
            conditions.append("COALESCE(finished_at, created_at) < ?")
            arguments += [cutoff]
        }
        if let maxJobs = policy.maxJobs {
            conditions.append("id < COALESCE((SELECT id FROM jobs ORDER BY id DESC LIMIT 1 OFFSET ?), -1)")
            arguments += [maxJobs - 1]
        }
        guard !conditions.isEmpty else { return [] }
        let starred = policy.keepStarred ? "AND starred = 0" : ""
        return try writer.read { db in
            try Job.fetchAll(db, sql: """
                SELECT * FROM jobs WHERE state IN ('done', 'failed', 'cancelled', 'rejected') \(starred)
                AND (\(conditions.joined(separator: " OR "))) ORDER BY id
                """, arguments: arguments)
        }
    }

    public func deleteEndedJobs(_ ids: [Int64], keepStarred: Bool) throws -> [Int64] {
        guard !ids.isEmpty else { return [] }
        return try writer.write { db in
            var deleted: [Int64] = []
            for id in ids {
                try db.execute(sql: "DELETE FROM jobs WHERE id = ? AND state IN ('done', 'failed', 'cancelled', 'rejected') \(keepStarred ? "AND starred = 0" : "")",
                               arguments: [id])
                if db.changesCount == 1 { deleted.append(id) }
            }
            return deleted
        }
    }
}
