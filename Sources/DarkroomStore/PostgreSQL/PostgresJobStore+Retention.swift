import Foundation
import DarkroomJobModel
import PostgresNIO

/// Stars and what retention removes, on PostgreSQL (schema v5).
extension PostgresJobStore {
    public func setStarred(_ id: Int64, _ starred: Bool) throws -> Bool {
        // exported = false: the gallery host writes the job's page and the index again, with or without the star.
        try session.transaction { c in
            let rows = try session.run(c, """
                UPDATE jobs SET starred = \(starred), exported = CASE WHEN state IN ('queued', 'running') THEN exported ELSE false END
                WHERE id = \(id) RETURNING id
                """)
            if !rows.isEmpty { _ = try session.run(c, "SELECT pg_notify('darkroom_ended', \(String(id)))") }
            return !rows.isEmpty
        }
    }

    public func jobsPastRetention(_ policy: RetentionPolicy, now: Date) throws -> [Job] {
        let cutoff = policy.cutoff(now: now)
        guard cutoff != nil || policy.maxJobs != nil else { return [] }
        let offset = (policy.maxJobs ?? 1) - 1
        return try session.query("""
            SELECT \(unescaped: Job.postgresColumns) FROM jobs
            WHERE state IN ('done', 'failed', 'cancelled', 'rejected') AND (NOT \(policy.keepStarred) OR NOT starred)
            AND ((\(cutoff)::timestamptz IS NOT NULL AND COALESCE(finished_at, created_at) < \(cutoff)::timestamptz)
                 OR (\(policy.maxJobs != nil) AND id < COALESCE((SELECT id FROM jobs ORDER BY id DESC LIMIT 1 OFFSET \(offset)), -1)))
            ORDER BY id
            """).map(Job.init(postgres:))
    }

    public func deleteEndedJobs(_ ids: [Int64], keepStarred: Bool) throws -> [Int64] {
        guard !ids.isEmpty else { return [] }
        return try session.transaction { c in
            try ids.flatMap { id in
                try session.run(c, """
                    DELETE FROM jobs WHERE id = \(id) AND state IN ('done', 'failed', 'cancelled', 'rejected') AND (NOT \(keepStarred) OR NOT starred)
                    RETURNING id
                    """).map { try $0.decode(Int64.self) }
            }
        }
    }
}
