import Foundation
import DarkroomJobModel
import PostgresNIO

/// Versioned migrations on PostgreSQL: the schema `SQLiteJobStore` reaches through its v1–v5, in one step.
extension PostgresJobStore {
    /// The migrations, in order; their count is the schema version.
    static let migrations: [(name: String, sql: [String])] = [
        ("v1: jobs with leases, results and inputs in the database, prompt embeddings, meta", [
            """
            CREATE TABLE jobs (
                id BIGSERIAL PRIMARY KEY,
                name TEXT NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed', 'rejected', 'cancelled')),
                mode TEXT NOT NULL,
                model TEXT NOT NULL,
                prompt TEXT NOT NULL,
                seed BIGINT NOT NULL,
                parameters TEXT NOT NULL,
                input_hash TEXT NOT NULL UNIQUE,
                folder TEXT NOT NULL,
                image TEXT,
                mask TEXT,
                attempts INTEGER NOT NULL DEFAULT 0,
                error TEXT,
                created_at TIMESTAMPTZ NOT NULL,
                started_at TIMESTAMPTZ,
                finished_at TIMESTAMPTZ,
                timings TEXT,
                priority INTEGER NOT NULL DEFAULT 0,
                progress TEXT,
                cancel_requested BOOLEAN NOT NULL DEFAULT false,
                worker TEXT,
                lease_expires_at TIMESTAMPTZ,
                exported BOOLEAN NOT NULL DEFAULT true,
                preview BYTEA
            )
            """,
            "CREATE INDEX jobs_claim_order ON jobs (priority DESC, id) WHERE state = 'queued'",
            "CREATE INDEX jobs_claim_by_model ON jobs (model, priority DESC, id) WHERE state = 'queued'",
            "CREATE INDEX jobs_running ON jobs (lease_expires_at) WHERE state = 'running'",
            // (No index on state alone: on a queue whose statistics are not yet gathered the planner would take it and
            // sort every queued row, where jobs_claim_order hands the next job over in order.)
            "CREATE INDEX jobs_to_export ON jobs (id) WHERE NOT exported",
            """
            CREATE TABLE results (
                id BIGSERIAL PRIMARY KEY,
                job_id BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
                kind TEXT NOT NULL,
                path TEXT NOT NULL,
                size BIGINT NOT NULL,
                step INTEGER,
                data BYTEA
            )
            """,
            "CREATE INDEX results_by_job ON results (job_id)",
            """
            CREATE TABLE job_inputs (
                job_id BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
                role TEXT NOT NULL,
                name TEXT NOT NULL,
                data BYTEA NOT NULL,
                PRIMARY KEY (job_id, name)
            )
            """,
            """
            CREATE TABLE prompt_embeddings (
                encoder TEXT NOT NULL,
                prompt TEXT NOT NULL,
                shape TEXT NOT NULL,
                data BYTEA NOT NULL,
                created_at TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (encoder, prompt)
            )
            """,
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        ]),
        ("v2: claim tokens (a claim whose reply was lost is found again by its worker)", [
            "ALTER TABLE jobs ADD COLUMN claim_token TEXT",
        ]),
        ("v3: presets (the inbox folder a drop came through)", [
            "ALTER TABLE jobs ADD COLUMN preset TEXT",
        ]),
        ("v4: notices outbox (a trigger writes a notice in the transaction that ends or rejects a job)", [
            """
            CREATE TABLE notices (
                id BIGSERIAL PRIMARY KEY,
                event_id TEXT NOT NULL UNIQUE,
                job_id BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
                state TEXT NOT NULL,
                error TEXT,
                created_at TIMESTAMPTZ NOT NULL,
                fanned_out BOOLEAN NOT NULL DEFAULT false
            )
            """,
            "CREATE INDEX notices_by_job ON notices (job_id)",
            "CREATE INDEX notices_to_fan_out ON notices (id) WHERE NOT fanned_out",
            """
            CREATE TABLE notice_deliveries (
                notice_id BIGINT NOT NULL REFERENCES notices (id) ON DELETE CASCADE,
                target TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
                attempts INTEGER NOT NULL DEFAULT 0,
                first_attempt_at TIMESTAMPTZ NOT NULL,
                next_attempt_at TIMESTAMPTZ,
                last_error TEXT,
                delivered_at TIMESTAMPTZ,
                PRIMARY KEY (notice_id, target)
            )
            """,
            "CREATE INDEX notice_deliveries_due ON notice_deliveries (next_attempt_at) WHERE status = 'pending'",
            """
            CREATE FUNCTION darkroom_job_notice() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.state IN ('done', 'failed', 'cancelled', 'rejected')
                   AND (TG_OP = 'INSERT' OR OLD.state IS DISTINCT FROM NEW.state) THEN
                    INSERT INTO notices (event_id, job_id, state, error, created_at)
                    VALUES (replace(gen_random_uuid()::text, '-', ''), NEW.id, NEW.state, NEW.error, COALESCE(NEW.finished_at, now()));
                END IF;
                RETURN NULL;
            END
            $$
            """,
            "CREATE TRIGGER jobs_notice AFTER INSERT OR UPDATE OF state ON jobs FOR EACH ROW EXECUTE FUNCTION darkroom_job_notice()",
        ]),
        ("v5: starred jobs (kept whatever the retention)", [
            "ALTER TABLE jobs ADD COLUMN starred BOOLEAN NOT NULL DEFAULT false",
        ]),
    ]

    /// Applies the migrations not yet applied, one transaction each, under an advisory lock so that processes starting
    /// together do not race; refuses a schema from a newer Darkroom.
    func migrate() throws {
        try session.transaction { c in
            // One key for "Darkroom migrates": the second process waits, then finds the work done.
            _ = try session.run(c, "SELECT pg_advisory_xact_lock(7231990412)")
            _ = try session.run(c, """
                CREATE TABLE IF NOT EXISTS darkroom_migrations (
                    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
                """)
            let applied = try session.run(c, "SELECT COALESCE(MAX(version), 0) FROM darkroom_migrations").first!.decode(Int.self)
            let known = PostgresJobStore.migrations.count
            if applied > known {
                throw StoreError("database: \(settings.display) has schema version \(applied), written by a newer Darkroom (this one knows \(known)): upgrade Darkroom on this host")
            }
            for (k, migration) in PostgresJobStore.migrations.enumerated() where k + 1 > applied {
                for statement in migration.sql { _ = try session.run(c, PostgresQuery(unsafeSQL: statement)) }
                if k == 0 {
                    _ = try session.run(c, "INSERT INTO meta (key, value) VALUES ('database_id', \(UUID().uuidString.lowercased()))")
                }
                _ = try session.run(c, "INSERT INTO darkroom_migrations (version, name) VALUES (\(k + 1), \(migration.name))")
            }
        }
    }
}
