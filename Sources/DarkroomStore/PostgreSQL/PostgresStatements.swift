import Foundation
import DarkroomJobModel
import PostgresNIO

/// The queue's hot statements, prepared once per connection: a claim, a lease renewal, the end of a job.
///
/// Every time in them is the server's: `statement_timestamp()` plus an offset in seconds, so that leases run on one
/// clock however wrong a worker's own is. The offset is the caller's `now` less the caller's clock (`ServerTime`):
/// zero in production, where callers pass `Date()`; tests step time forward with it.
enum PostgresStatements {
    /// The server's time at the statement plus `$n` seconds.
    static func serverTime(_ n: Int) -> String { "(statement_timestamp() + $\(n)::float8 * interval '1 second')" }

    /// What both claims do to the job they pick (unless the queue is paused): $1 offset, $2 worker, $3 lease seconds,
    /// $4 the claim token (found again by this worker if the reply is lost).
    static func claim(picking next: String) -> String {
        """
        UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = \(serverTime(1)), error = NULL,
            worker = $2, lease_expires_at = \(serverTime(1)) + $3::float8 * interval '1 second', progress = NULL,
            preview = NULL, claim_token = $4
        WHERE NOT EXISTS (SELECT 1 FROM meta WHERE key = 'paused' AND value = '1') AND id = \(next)
        RETURNING \(Job.postgresColumns)
        """
    }

    /// The next queued job in claim order, locked (others skip it, never wait).
    static let nextInOrder = "(SELECT id FROM jobs WHERE state = 'queued' ORDER BY priority DESC, id LIMIT 1 FOR UPDATE SKIP LOCKED)"

    /// Claims the next job in priority and age order (no model preferred).
    struct Claim: PostgresPreparedStatement {
        static let sql = PostgresStatements.claim(picking: PostgresStatements.nextInOrder)
        typealias Row = PostgresRow
        var offset: Double
        var worker: String
        var lease: Double
        var token: String

        func makeBindings() throws -> PostgresBindings {
            var b = PostgresBindings()
            b.append(offset)
            b.append(worker)
            b.append(lease)
            b.append(token)
            return b
        }
        func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
    }

    /// The same, a job for `model` first among those of the top priority. $5 the model.
    struct ClaimPreferring: PostgresPreparedStatement {
        static let sql = PostgresStatements.claim(picking: """
            COALESCE(
                (SELECT id FROM jobs WHERE state = 'queued' AND model = $5
                    AND priority >= (SELECT MAX(priority) FROM jobs WHERE state = 'queued')
                    ORDER BY priority DESC, id LIMIT 1 FOR UPDATE SKIP LOCKED),
                \(PostgresStatements.nextInOrder))
            """)
        typealias Row = PostgresRow
        var claim: Claim
        var model: String

        func makeBindings() throws -> PostgresBindings {
            var b = try claim.makeBindings()
            b.append(model)
            return b
        }
        func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
    }

    /// Extends a lease if the claim still holds. $1 seconds from the server's now (offset + lease), $2 id, $3 attempt,
    /// $4 worker.
    struct Renew: PostgresPreparedStatement {
        static let sql = """
            UPDATE jobs SET lease_expires_at = \(serverTime(1))
            WHERE id = $2 AND state = 'running' AND attempts = $3 AND worker = $4 RETURNING id
            """
        typealias Row = Int64
        var seconds: Double
        var claim: DarkroomJobModel.Claim

        func makeBindings() throws -> PostgresBindings {
            var b = PostgresBindings()
            b.append(seconds)
            b.append(claim.id)
            b.append(claim.attempt)
            b.append(claim.worker)
            return b
        }
        func decodeRow(_ row: PostgresRow) throws -> Int64 { try row.decode(Int64.self) }
    }
}

extension PostgresStatements {
    /// Ends a claimed job in one statement: the fenced update, its results replaced (unless it failed), the NOTIFY.
    /// Arrays cannot hold NULLs here: step -1 stands for "none", an empty buffer for "no bytes".
    struct End: PostgresPreparedStatement {
        static let sql = """
            WITH done AS (
                UPDATE jobs SET state = $1, error = $2, finished_at = \(serverTime(3)), timings = COALESCE($4, timings),
                    progress = NULL, cancel_requested = false, lease_expires_at = NULL, exported = false
                WHERE id = $5 AND state = 'running' AND attempts = $6 AND worker = $7
                RETURNING id),
            cleared AS (DELETE FROM results WHERE $8 AND job_id IN (SELECT id FROM done)),
            added AS (
                INSERT INTO results (job_id, kind, path, size, step, data)
                SELECT done.id, r.kind, r.path, r.size, NULLIF(r.step, -1), NULLIF(r.data, ''::bytea)
                FROM done, unnest($9::text[], $10::text[], $11::int8[], $12::int8[], $13::bytea[])
                    WITH ORDINALITY AS r(kind, path, size, step, data, n)
                WHERE $8 ORDER BY r.n)
            SELECT id, pg_notify('darkroom_ended', id::text) FROM done
            """
        typealias Row = Int64
        var state: JobState
        var error: String?
        var offset: Double
        var timings: String?
        var claim: DarkroomJobModel.Claim
        var results: [JobResult]
        var files: [Data]

        func makeBindings() throws -> PostgresBindings {
            var b = PostgresBindings()
            b.append(state.rawValue)
            b.append(error)
            b.append(offset)
            b.append(timings)
            b.append(claim.id)
            b.append(claim.attempt)
            b.append(claim.worker)
            b.append(state != .failed)
            b.append(results.map(\.kind.rawValue))
            b.append(results.map(\.path))
            b.append(results.map(\.size))
            b.append(results.map { Int64($0.index ?? -1) })
            b.append(files.isEmpty ? results.map { _ in ByteBuffer() } : files.map { ByteBuffer(bytes: $0) })
            return b
        }
        func decodeRow(_ row: PostgresRow) throws -> Int64 { try row.decode(Int64.self) }
    }
}
