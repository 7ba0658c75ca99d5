import Foundation
import DarkroomJobModel
import GRDB

/// The notices outbox in SQLite: triggers on `jobs` write a notice in the transaction that ends (or rejects) a job.
extension SQLiteJobStore {
    static func registerNoticesMigration(_ m: inout DatabaseMigrator) {
        m.registerMigration("v8: notices outbox") { db in
            try db.execute(sql: """
                CREATE TABLE notices (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    event_id TEXT NOT NULL UNIQUE,
                    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
                    state TEXT NOT NULL,
                    error TEXT,
                    created_at DATETIME NOT NULL,
                    fanned_out BOOLEAN NOT NULL DEFAULT 0
                );
                CREATE INDEX notices_by_job ON notices (job_id);
                CREATE INDEX notices_to_fan_out ON notices (id) WHERE fanned_out = 0;
                CREATE TABLE notice_deliveries (
                    notice_id INTEGER NOT NULL REFERENCES notices (id) ON DELETE CASCADE,
                    target TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    first_attempt_at DATETIME NOT NULL,
                    next_attempt_at DATETIME,
                    last_error TEXT,
                    delivered_at DATETIME,
                    PRIMARY KEY (notice_id, target)
                );
                CREATE INDEX notice_deliveries_due ON notice_deliveries (next_attempt_at) WHERE status = 'pending';
                CREATE TRIGGER jobs_notice_on_end AFTER UPDATE OF state ON jobs
                WHEN NEW.state IN ('done', 'failed', 'cancelled', 'rejected') AND OLD.state IS NOT NEW.state
                BEGIN
                    INSERT INTO notices (event_id, job_id, state, error, created_at)
                    VALUES (lower(hex(randomblob(16))), NEW.id, NEW.state, NEW.error,
                            COALESCE(NEW.finished_at, strftime('%Y-%m-%d %H:%M:%f', 'now')));
                END;
                CREATE TRIGGER jobs_notice_on_reject AFTER INSERT ON jobs
                WHEN NEW.state IN ('done', 'failed', 'cancelled', 'rejected')
                BEGIN
                    INSERT INTO notices (event_id, job_id, state, error, created_at)
                    VALUES (lower(hex(randomblob(16))), NEW.id, NEW.state, NEW.error,
                            COALESCE(NEW.finished_at, strftime('%Y-%m-%d %H:%M:%f', 'now')));
                END;
                """)
        }
    }

    public func fanOutNotices(to subscriptions: [NoticeSubscription], now: Date) throws -> Int {
        // Looked at every second or so: a read (no write lock) when there is nothing to fan out.
        guard try writer.read({ try Bool.fetchOne($0, sql: "SELECT EXISTS (SELECT 1 FROM notices WHERE fanned_out = 0)") ?? false }) else { return 0 }
        return try writer.write { db in
            let rows = try Row.fetchAll(db, sql: "SELECT id, state FROM notices WHERE fanned_out = 0 ORDER BY id LIMIT 1000")
            var added = 0
            for row in rows {
                let id: Int64 = row["id"]
                let state = JobState(rawValue: row["state"]) ?? .failed
                for s in subscriptions where s.states.contains(state) {
                    try db.execute(sql: """
                        INSERT OR IGNORE INTO notice_deliveries (notice_id, target, status, first_attempt_at, next_attempt_at)
                        VALUES (?, ?, 'pending', ?, ?)
                        """, arguments: [id, s.target, now, now])
                    added += db.changesCount
                }
                try db.execute(sql: "UPDATE notices SET fanned_out = 1 WHERE id = ?", arguments: [id])
            }
            return added
        }
    }

    public func dueDeliveries(now: Date, limit: Int) throws -> [(notice: Notice, delivery: NoticeDelivery)] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "\(Self.noticeSelect) WHERE d.status = 'pending' AND d.next_attempt_at <= ? ORDER BY n.id, d.target LIMIT ?",
                             arguments: [now, limit]).map(Self.noticeRow)
        }
    }

    public func recordDelivery(notice: Int64, target: String, _ outcome: DeliveryOutcome, now: Date) throws {
        try writer.write { db in
            switch outcome {
            case .delivered:
                try db.execute(sql: """
                    UPDATE notice_deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = ?, next_attempt_at = NULL
                    WHERE notice_id = ? AND target = ?
                    """, arguments: [now, notice, target])
            case .failed(let error, let retryAt):
                try db.execute(sql: """
                    UPDATE notice_deliveries SET status = ?, attempts = attempts + 1, last_error = ?, next_attempt_at = ?
                    WHERE notice_id = ? AND target = ?
                    """, arguments: [retryAt == nil ? "failed" : "pending", error, retryAt, notice, target])
            }
        }
    }

    public func deliveries(includeDelivered: Bool, limit: Int) throws -> [(notice: Notice, delivery: NoticeDelivery)] {
        try writer.read { db in
            let filter = includeDelivered ? "" : "WHERE d.status != 'delivered'"
            return try Row.fetchAll(db, sql: "\(Self.noticeSelect) \(filter) ORDER BY n.id DESC, d.target LIMIT ?", arguments: [limit])
                .map(Self.noticeRow)
        }
    }

    public func notices(of jobID: Int64) throws -> [Notice] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT id, event_id, job_id, state, error, created_at FROM notices WHERE job_id = ? ORDER BY id",
                             arguments: [jobID]).map(Self.notice)
        }
    }

    static let noticeSelect = """
        SELECT n.id, n.event_id, n.job_id, n.state, n.error, n.created_at, d.target, d.status, d.attempts, d.first_attempt_at,
               d.next_attempt_at, d.last_error, d.delivered_at
        FROM notice_deliveries d JOIN notices n ON n.id = d.notice_id
        """

    static func notice(_ row: Row) -> Notice {
        Notice(id: row["id"], eventID: row["event_id"], jobID: row["job_id"], state: JobState(rawValue: row["state"]) ?? .failed,
               error: row["error"], createdAt: row["created_at"])
    }

    static func noticeRow(_ row: Row) -> (notice: Notice, delivery: NoticeDelivery) {
        let n = notice(row)
        let d = NoticeDelivery(noticeID: n.id, target: row["target"], status: NoticeDelivery.Status(rawValue: row["status"]) ?? .pending,
                               attempts: row["attempts"], firstAttemptAt: row["first_attempt_at"], nextAttemptAt: row["next_attempt_at"],
                               lastError: row["last_error"], deliveredAt: row["delivered_at"])
        return (n, d)
    }
}
