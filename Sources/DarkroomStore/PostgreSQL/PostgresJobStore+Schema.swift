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
