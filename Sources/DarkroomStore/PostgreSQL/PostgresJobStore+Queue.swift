import Foundation
import DarkroomJobModel
import PostgresNIO

/// Intake, claims with leases, fenced reports and rescues on PostgreSQL.
extension PostgresJobStore {
    public func job(inputHash: String) throws -> Job? {
        try session.query("SELECT \(unescaped: Job.postgresColumns) FROM jobs WHERE input_hash = \(inputHash)").first.map(Job.init(postgres:))
    }

    /// Inserts the row and returns its id (the unique input hash makes a second insert of one drop fail, or with
    /// `orNothing` return nil).
    func insertRow(_ j: Job, _ c: PostgresConnection, orNothing: Bool = false) throws -> Int64? {
        let conflict = orNothing ? "ON CONFLICT (input_hash) DO NOTHING" : ""
        return try session.run(c, """
            INSERT INTO jobs (name, state, mode, model, prompt, seed, parameters, input_hash, folder, image, mask, attempts,
                error, created_at, started_at, finished_at, timings, priority, progress, cancel_requested, preset)
            VALUES (\(j.name), \(j.state.rawValue), \(j.mode), \(j.model), \(j.prompt), \(j.seed), \(j.parameters.json), \(j.inputHash),
                \(j.folder), \(j.image), \(j.mask), \(j.attempts), \(j.error), \(j.createdAt), \(j.startedAt), \(j.finishedAt),
                \(j.timings?.json), \(j.priority), \(j.progress?.json), \(j.cancelRequested), \(j.preset))
            \(unescaped: conflict) RETURNING id
            """).first?.decode(Int64.self)
    }

    func insertInputs(_ inputs: [JobFile], of id: Int64, _ c: PostgresConnection) throws {
        for f in inputs {
            _ = try session.run(c, "INSERT INTO job_inputs (job_id, role, name, data) VALUES (\(id), \(f.role), \(f.name), \(f.data))")
        }
    }

    public func enqueue(_ job: Job, inputs: [JobFile]) throws -> (job: Job, inserted: Bool) {
        try session.transaction { c in
            guard let id = try insertRow(job, c, orNothing: true) else {
                let existing = try session.run(c, "SELECT \(unescaped: Job.postgresColumns) FROM jobs WHERE input_hash = \(job.inputHash)")
                return (try Job(postgres: existing.first!), false)
            }
            try insertInputs(inputs, of: id, c)
            if job.state == .queued { _ = try session.run(c, "NOTIFY darkroom_queued") }
            var j = job
            j.id = id
            return (j, true)
        }
    }

    public func insert(_ record: Job, inputs: [JobFile], whileInserting body: (Job) throws -> Job) throws -> Job {
        // Not retried on a lost connection: `body` moves files, and the caller puts them back when this throws.
        try session.transaction(retrying: false) { c in
            var row = record
            row.id = try insertRow(record, c)
            let j = try body(row)
            _ = try session.run(c, """
                UPDATE jobs SET folder = \(j.folder), image = \(j.image), mask = \(j.mask), name = \(j.name) WHERE id = \(j.id!)
                """)
            try insertInputs(inputs, of: j.id!, c)
            if j.state == .queued { _ = try session.run(c, "NOTIFY darkroom_queued") }
            return j
        }
    }

    public func claimNext(worker: String, lease: TimeInterval, preferredModel: String?, now: Date) throws -> Job? {
        // One statement (PostgresStatements): the row is locked (others skip it, never wait), updated and returned.
        // The subqueries walk partial indexes in claim order, so a claim costs the same with ten queued jobs or a million.
        let claim = PostgresStatements.Claim(offset: ServerTime.offset(now), worker: worker, lease: lease, token: UUID().uuidString)
        var tries = 0
        // A lost connection runs this again. The first claim may have committed with only its reply lost: the job it
        // took is then found by its token and handed over at once, instead of waiting out its lease with an attempt spent.
        return try session.withConnection { c in
            tries += 1
            if tries > 1, let row = try session.run(c, """
                SELECT \(unescaped: Job.postgresColumns) FROM jobs
                WHERE state = 'running' AND worker = \(worker) AND claim_token = \(claim.token)
                """).first {
                return try Job(postgres: row)
            }
            let rows: [PostgresRow]
            if let model = preferredModel {
                rows = try session.execute(PostgresStatements.ClaimPreferring(claim: claim, model: model), on: c)
            } else {
                rows = try session.execute(claim, on: c)
            }
            if tries == 1, loseClaimReply?() == true {
                _ = try? c.close().wait()
                throw PostgresSession.StatementTimedOut()
            }
            return try rows.first.map(Job.init(postgres:))
        }
    }

    public func measureClockSkew(worker: String) throws -> TimeInterval {
        try session.withConnection { c in
            let before = Date()
            let server = try session.run(c, "SELECT extract(epoch FROM clock_timestamp())::float8").first!.decode(Double.self)
            let after = Date()
            // The server read its clock somewhere between the two: the middle is off by at most half the round trip.
            let skew = (before.timeIntervalSince1970 + after.timeIntervalSince1970) / 2 - server
            let value = String(format: "%.3f", skew)
            _ = try session.run(c, """
                INSERT INTO meta (key, value) VALUES (\("clock_skew/" + worker), \(value))
                ON CONFLICT (key) DO UPDATE SET value = excluded.value
                """)
            return skew
        }
    }

    /// Each worker's last measured skew (its clock less the server's, seconds), by worker id.
    public func recordedClockSkews() throws -> [String: Double] {
        var skews: [String: Double] = [:]
        for row in try session.query("SELECT key, value FROM meta WHERE key LIKE 'clock_skew/%'") {
            let (key, value) = try row.decode((String, String).self)
            skews[String(key.dropFirst("clock_skew/".count))] = Double(value)
        }
        return skews
    }

    public func renewLease(_ claim: Claim, lease: TimeInterval, now: Date) throws -> Bool {
        try !session.execute(PostgresStatements.Renew(seconds: ServerTime.offset(now) + lease, claim: claim)).isEmpty
    }

    public func inputs(of id: Int64) throws -> [JobFile] {
        try session.query("SELECT role, name, data FROM job_inputs WHERE job_id = \(id) ORDER BY name").map {
            let (role, name, data) = try $0.decode((String, String, Data).self)
            return JobFile(role: role, name: name, data: data)
        }
    }

    public func setProgress(_ claim: Claim, _ progress: JobProgress, preview: Data?) throws {
        let json = progress.json
        _ = try session.query("""
            UPDATE jobs SET progress = \(json), preview = COALESCE(\(preview), preview)
            WHERE id = \(claim.id) AND state = 'running' AND attempts = \(claim.attempt) AND worker = \(claim.worker)
            """)
    }

    /// Ends the claimed job in one statement (`PostgresStatements.End`: the fenced update, the results replaced, the
    /// NOTIFY). Safe to run again after a lost connection: a second run that finds the job ended by this very claim is
    /// a success.
    public func end(_ claim: Claim, as state: JobState, error: String?, results: [JobResult], files: [Data], timings: JobTimings?, now: Date) throws {
        precondition(files.isEmpty || files.count == results.count, "one file per result, or none")
        let ended = try session.execute(PostgresStatements.End(state: state, error: error, offset: ServerTime.offset(now), timings: timings?.json, claim: claim,
                                                               results: results, files: files))
        guard ended.isEmpty else { return }
        let mine = try session.query("""
            SELECT id FROM jobs WHERE id = \(claim.id) AND state = \(state.rawValue) AND attempts = \(claim.attempt)
                AND worker = \(claim.worker) AND lease_expires_at IS NULL
            """)
        // Found: this claim's own earlier statement, whose answer a lost connection swallowed.
        if mine.isEmpty { throw ClaimLost(claim) }
    }

    @discardableResult
    public func requeue(_ claim: Claim) throws -> Bool {
        try session.transaction { c in
            let back = try session.run(c, """
                UPDATE jobs SET state = 'queued', attempts = GREATEST(attempts - 1, 0), progress = NULL, worker = NULL,
                    lease_expires_at = NULL
                WHERE id = \(claim.id) AND state = 'running' AND attempts = \(claim.attempt) AND worker = \(claim.worker)
                RETURNING id
                """)
            if !back.isEmpty { _ = try session.run(c, "NOTIFY darkroom_queued") }
            return !back.isEmpty
        }
    }

    public func rescueExpiredLeases(maxAttempts: Int, now: Date) throws -> (requeued: [Int64], failed: [Int64]) {
        // Expired by the server's clock, the one every lease was granted on.
        try rescue(condition: "(lease_expires_at IS NULL OR lease_expires_at < \(PostgresStatements.serverTime(1)))", now: now, worker: "",
                   maxAttempts: maxAttempts)
    }

    public func recoverJobs(of worker: String, maxAttempts: Int, now: Date) throws -> (requeued: [Int64], failed: [Int64]) {
        try rescue(condition: "worker = $2", now: now, worker: worker, maxAttempts: maxAttempts)
    }

    /// Running jobs matching `condition` ($1 the offset from the server's clock, $2 the worker): cancelled when a cancel
    /// was asked, failed past `maxAttempts` ($3), else queued again.
    func rescue(condition: String, now: Date, worker: String, maxAttempts: Int) throws -> (requeued: [Int64], failed: [Int64]) {
        func q(_ sql: String) -> PostgresQuery {
            var binds = PostgresBindings()
            binds.append(ServerTime.offset(now))
            binds.append(worker)
            binds.append(maxAttempts)
            return PostgresQuery(unsafeSQL: sql, binds: binds)
        }
        let ended = "finished_at = \(PostgresStatements.serverTime(1)), progress = NULL, cancel_requested = false, worker = NULL, lease_expires_at = NULL, exported = false"
        return try session.transaction { c in
            // Every statement names $1–$3, so that PostgreSQL knows each parameter's type.
            let guardAll = "AND $1::float8 IS NOT NULL AND $2::text IS NOT NULL AND $3::int IS NOT NULL"
            _ = try session.run(c, q("""
                UPDATE jobs SET state = 'cancelled', error = 'cancelled while running (its worker stopped)', \(ended)
                WHERE state = 'running' AND cancel_requested AND \(condition) \(guardAll)
                """))
            let failed = try session.run(c, q("""
                UPDATE jobs SET state = 'failed', \(ended),
                    error = COALESCE(error, 'the worker stopped during this job ' || attempts || ' times')
                WHERE state = 'running' AND attempts >= $3 AND \(condition) \(guardAll) RETURNING id
                """)).map { try $0.decode(Int64.self) }
            let requeued = try session.run(c, q("""
                UPDATE jobs SET state = 'queued', progress = NULL, worker = NULL, lease_expires_at = NULL
                WHERE state = 'running' AND \(condition) \(guardAll) RETURNING id
                """)).map { try $0.decode(Int64.self) }
            if !requeued.isEmpty { _ = try session.run(c, "NOTIFY darkroom_queued") }
            if !failed.isEmpty { _ = try session.run(c, "SELECT pg_notify('darkroom_ended', '')") }
            return (requeued, failed)
        }
    }
}
