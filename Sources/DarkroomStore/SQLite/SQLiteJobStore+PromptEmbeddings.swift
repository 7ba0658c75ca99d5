import Foundation
import DarkroomJobModel
import GRDB

extension SQLiteJobStore {
    public func promptEmbedding(encoder: String, prompt: String) throws -> StoredEmbedding? {
        try writer.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT shape, data FROM prompt_embeddings WHERE encoder = ? AND prompt = ?",
                                             arguments: [encoder, prompt]) else { return nil }
            let shapeText: String = row["shape"]
            let shape = shapeText.split(separator: ",").compactMap { Int($0) }
            guard let embedding = StoredEmbedding(shape: shape, bytes: row["data"]) else {
                throw StoreError("prompt_embeddings row (\(encoder), \(prompt)): the data does not fit shape \(shape)")
            }
            return embedding
        }
    }

    public func savePromptEmbedding(encoder: String, prompt: String, _ embedding: StoredEmbedding) throws {
        precondition(embedding.shape.reduce(1, *) == embedding.values.count)
        try writer.write { db in
            try db.execute(sql: """
                INSERT INTO prompt_embeddings (encoder, prompt, shape, data, created_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(encoder, prompt) DO UPDATE SET shape = excluded.shape, data = excluded.data
                """, arguments: [encoder, prompt, embedding.shapeText, embedding.bytes, Date()])
        }
    }

    public func promptEmbeddingKeys() throws -> [(encoder: String, prompt: String)] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT encoder, prompt FROM prompt_embeddings ORDER BY encoder, prompt").map { ($0["encoder"], $0["prompt"]) }
        }
    }
}
