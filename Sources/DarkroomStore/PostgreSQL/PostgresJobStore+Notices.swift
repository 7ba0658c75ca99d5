import Foundation
import DarkroomJobModel
import PostgresNIO

/// The notices outbox on PostgreSQL: a trigger on `jobs` writes a notice in the transaction that ends or rejects a job
/// (schema v4); the gallery host fans each out to the targets and records every attempt.
extension PostgresJobStore {
    public func fanOutNotices(to subscriptions: [NoticeSubscription], now: Date) throws -> Int {
        // Looked at every second or so: one statement, no transaction, when there is nothing to fan out.
        guard try session.query("SELECT EXISTS (SELECT 1 FROM notices WHERE NOT fanned_out)").first?.decode(Bool.self) == true else { return 0 }
        return try session.transaction { c in
            let rows = try session.run(c, "SELECT id, state FROM notices WHERE NOT fanned_out ORDER BY id LIMIT 1000 FOR UPDATE")
            var added = 0
            for row in rows {
                let (id, stateText) = try row.decode((Int64, String).self)
                let state = JobState(rawValue: stateText) ?? .failed
                for s in subscriptions where s.states.contains(state) {
                    added += try session.run(c, """
                        INSERT INTO notice_deliveries (notice_id, target, status, first_attempt_at, next_attempt_at)
                        VALUES (\(id), \(s.target), 'pending', \(now), \(now)) ON CONFLICT DO NOTHING RETURNING notice_id
                        """).count
                }
                _ = try session.run(c, "UPDATE notices SET fanned_out = true WHERE id = \(id)")
            }
            return added
        }
    }

    public func dueDeliveries(now: Date, limit: Int) throws -> [(notice: Notice, delivery: NoticeDelivery)] {
        try session.query("""
            \(unescaped: Self.noticeSelect) WHERE d.status = 'pending' AND d.next_attempt_at <= \(now) ORDER BY n.id, d.target LIMIT \(limit)
            """).map(Self.noticeRow)
    }

    public func recordDelivery(notice: Int64, target: String, _ outcome: DeliveryOutcome, now: Date) throws {
        switch outcome {
        case .delivered:
            _ = try session.query("""
                UPDATE notice_deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = \(now), next_attempt_at = NULL
                WHERE notice_id = \(notice) AND target = \(target)
                """)
        case .failed(let error, let retryAt):
            _ = try session.query("""
                UPDATE notice_deliveries SET status = \(retryAt == nil ? "failed" : "pending"), attempts = attempts + 1,
                    last_error = \(error), next_attempt_at = \(retryAt)
                WHERE notice_id = \(notice) AND target = \(target)
                """)
        }
    }

    public func deliveries(includeDelivered: Bool, limit: Int) throws -> [(notice: Notice, delivery: NoticeDelivery)] {
        let filter = includeDelivered ? "" : "WHERE d.status != 'delivered'"
        return try session.query("\(unescaped: Self.noticeSelect) \(unescaped: filter) ORDER BY n.id DESC, d.target LIMIT \(limit)")
            .map(Self.noticeRow)
    }

    public func notices(of jobID: Int64) throws -> [Notice] {
        try session.query("SELECT id, event_id, job_id, state, error, created_at FROM notices WHERE job_id = \(jobID) ORDER BY id")
            .map { try Self.notice($0.makeRandomAccess()) }
    }

    static let noticeSelect = """
        SELECT n.id, n.event_id, n.job_id, n.state, n.error, n.created_at, d.target, d.status, d.attempts, d.first_attempt_at,
               d.next_attempt_at, d.last_error, d.delivered_at
        FROM notice_deliveries d JOIN notices n ON n.id = d.notice_id
        """

    static func notice(_ r: PostgresRandomAccessRow) throws -> Notice {
        Notice(id: try r["id"].decode(Int64.self), eventID: try r["event_id"].decode(String.self), jobID: try r["job_id"].decode(Int64.self),
               state: JobState(rawValue: try r["state"].decode(String.self)) ?? .failed, error: try r["error"].decode(String?.self),
               createdAt: try r["created_at"].decode(Date.self))
    }

    static func noticeRow(_ row: PostgresRow) throws -> (notice: Notice, delivery: NoticeDelivery) {
        let r = row.makeRandomAccess()
        let n = try notice(r)
        let d = NoticeDelivery(noticeID: n.id, target: try r["target"].decode(String.self),
                               status: NoticeDelivery.Status(rawValue: try r["status"].decode(String.self)) ?? .pending,
                               attempts: try r["attempts"].decode(Int.self), firstAttemptAt: try r["first_attempt_at"].decode(Date.self),
                               nextAttemptAt: try r["next_attempt_at"].decode(Date?.self), lastError: try r["last_error"].decode(String?.self),
                               deliveredAt: try r["delivered_at"].decode(Date?.self))
        return (n, d)
    }
}
