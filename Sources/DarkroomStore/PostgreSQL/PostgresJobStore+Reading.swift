import Foundation
import DarkroomJobModel
import PostgresNIO

/// Listings, people's controls, the gallery host's export and the prompt-embedding cache on PostgreSQL.
extension PostgresJobStore {
    public func job(_ id: Int64) throws -> Job? {
        try session.query("SELECT \(unescaped: Job.postgresColumns) FROM jobs WHERE id = \(id)").first.map(Job.init(postgres:))
    }

    public func jobs(state: JobState?, limit: Int?, offset: Int) throws -> [Job] {
        let filter = state.map { "WHERE state = '\($0.rawValue)'" } ?? ""
        let page = limit.map { "LIMIT \(max(0, $0)) OFFSET \(max(0, offset))" } ?? ""
        return try session.query("SELECT \(unescaped: Job.postgresColumns) FROM jobs \(unescaped: filter) ORDER BY id DESC \(unescaped: page)")
            .map(Job.init(postgres:))
    }

    public func newerJobCount(than id: Int64) throws -> Int {
        try session.query("SELECT COUNT(*) FROM jobs WHERE id > \(id)").first!.decode(Int.self)
    }

    public func modes() throws -> [String] {
        try session.query("SELECT DISTINCT mode FROM jobs ORDER BY mode").map { try $0.decode(String.self) }
    }

    public func presets() throws -> [String] {
        try session.query("SELECT DISTINCT preset FROM jobs WHERE preset IS NOT NULL ORDER BY preset").map { try $0.decode(String.self) }
    }

    public func results(of jobID: Int64) throws -> [JobResult] {
        try session.query("SELECT id, job_id, kind, path, size, step FROM results WHERE job_id = \(jobID) ORDER BY id").map(JobResult.init(postgres:))
    }

    public func allResults() throws -> [Int64: [JobResult]] {
        Dictionary(grouping: try session.query("SELECT id, job_id, kind, path, size, step FROM results ORDER BY id").map(JobResult.init(postgres:)),
                   by: \.jobID)
    }

    public func thumbnails(of ids: [Int64]?) throws -> [Int64: String] {
        let filter = ids.map { "AND job_id IN (\(([0] + $0).map(String.init).joined(separator: ",")))" } ?? ""
        var out: [Int64: String] = [:]
        for row in try session.query("SELECT job_id, path FROM results WHERE kind = 'result' \(unescaped: filter) ORDER BY id DESC") {
            let (id, path) = try row.decode((Int64, String).self)
            out[id] = path
        }
        return out
    }

    public func counts() throws -> [JobState: Int] {
        var out: [JobState: Int] = [:]
        for row in try session.query("SELECT state, COUNT(*)::bigint FROM jobs GROUP BY state") {
            let (state, n) = try row.decode((String, Int).self)
            if let s = JobState(rawValue: state) { out[s] = n }
        }
        return out
    }

    public func resultFiles(of jobID: Int64) throws -> [Int64: Data] {
        var out: [Int64: Data] = [:]
        for row in try session.query("SELECT id, data FROM results WHERE job_id = \(jobID) AND data IS NOT NULL") {
            let (id, data) = try row.decode((Int64, Data).self)
            out[id] = data
        }
        return out
    }

    public func preview(of id: Int64) throws -> Data? {
        try session.query("SELECT preview FROM jobs WHERE id = \(id)").first?.decode(Data?.self)
    }

    public func forgetMissingResults() throws -> Int {
        let rows = try session.query("SELECT id, path FROM results WHERE data IS NULL").map { try $0.decode((Int64, String).self) }
        let missing = rows.filter { !FileManager.default.fileExists(atPath: $0.1) }.map(\.0)
        for id in missing { _ = try session.query("DELETE FROM results WHERE id = \(id)") }
        return missing.count
    }

    public func jobsToExport(limit: Int) throws -> [Int64] {
        try session.query("SELECT id FROM jobs WHERE NOT exported ORDER BY id LIMIT \(limit)").map { try $0.decode(Int64.self) }
    }

    public func markExported(_ id: Int64, endedAt: Date?) throws {
        // Within a millisecond: a time read back and bound again may differ in its last microsecond.
        _ = try session.query("""
            UPDATE jobs SET exported = true WHERE id = \(id) AND state NOT IN ('queued', 'running')
                AND ((finished_at IS NULL AND \(endedAt)::timestamptz IS NULL)
                     OR finished_at BETWEEN \(endedAt)::timestamptz - interval '1 millisecond' AND \(endedAt)::timestamptz + interval '1 millisecond')
            """)
    }

    // MARK: People

    public func fail(_ id: Int64, error: String, state: JobState, now: Date) throws {
        _ = try session.query("""
            UPDATE jobs SET state = \(state.rawValue), error = \(error), finished_at = \(now), progress = NULL, cancel_requested = false,
                worker = NULL, lease_expires_at = NULL, exported = false WHERE id = \(id) AND state != 'running'
            """)
    }

    public func cancel(_ id: Int64, now: Date) throws -> JobState? {
        try session.transaction { c in
            guard let row = try session.run(c, "SELECT state FROM jobs WHERE id = \(id) FOR UPDATE").first,
                  let state = JobState(rawValue: try row.decode(String.self)) else { return nil }
            switch state {
            case .queued:
                _ = try session.run(c, """
                    UPDATE jobs SET state = 'cancelled', finished_at = \(now), error = 'cancelled before it started', exported = false
                    WHERE id = \(id)
                    """)
                _ = try session.run(c, "SELECT pg_notify('darkroom_ended', \(String(id)))")
            case .running:
                _ = try session.run(c, "UPDATE jobs SET cancel_requested = true WHERE id = \(id)")
            default: break
            }
            return state
        }
    }

    public func cancelRequested(_ id: Int64) throws -> Bool {
        try session.query("SELECT cancel_requested FROM jobs WHERE id = \(id)").first?.decode(Bool.self) ?? false
    }

    public func retry(_ id: Int64) throws -> Bool {
        try session.transaction { c in
            let rows = try session.run(c, """
                UPDATE jobs SET state = 'queued', attempts = 0, error = NULL, cancel_requested = false, finished_at = NULL
                WHERE id = \(id) AND state IN ('failed', 'cancelled') RETURNING id
                """)
            if !rows.isEmpty { _ = try session.run(c, "NOTIFY darkroom_queued") }
            return !rows.isEmpty
        }
    }

    // MARK: Prompt embeddings

    public func promptEmbedding(encoder: String, prompt: String) throws -> StoredEmbedding? {
        guard let row = try session.query("SELECT shape, data FROM prompt_embeddings WHERE encoder = \(encoder) AND prompt = \(prompt)").first else {
            return nil
        }
        let (shapeText, data) = try row.decode((String, Data).self)
        let shape = shapeText.split(separator: ",").compactMap { Int($0) }
        guard let embedding = StoredEmbedding(shape: shape, bytes: data) else {
            throw StoreError("prompt_embeddings row (\(encoder), \(prompt)): the data does not fit shape \(shape)")
        }
        return embedding
    }

    public func savePromptEmbedding(encoder: String, prompt: String, _ embedding: StoredEmbedding) throws {
        precondition(embedding.shape.reduce(1, *) == embedding.values.count)
        _ = try session.query("""
            INSERT INTO prompt_embeddings (encoder, prompt, shape, data, created_at)
            VALUES (\(encoder), \(prompt), \(embedding.shapeText), \(embedding.bytes), \(Date()))
            ON CONFLICT (encoder, prompt) DO UPDATE SET shape = excluded.shape, data = excluded.data
            """)
    }

    public func promptEmbeddingKeys() throws -> [(encoder: String, prompt: String)] {
        try session.query("SELECT encoder, prompt FROM prompt_embeddings ORDER BY encoder, prompt").map {
            let (e, p) = try $0.decode((String, String).self)
            return (e, p)
        }
    }
}
