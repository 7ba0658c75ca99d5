import Foundation
import GRDB

/// A text encoder's output for one prompt, as the database keeps it.
public struct StoredEmbedding: Equatable, Sendable {
    public var shape: [Int]
    /// Row-major Float32 values.
    public var values: [Float]

    public init(shape: [Int], values: [Float]) {
        self.shape = shape
        self.values = values
    }
}

extension JobStore {
    /// The embedding of `prompt` by `encoder`, if one was stored.
    public func promptEmbedding(encoder: String, prompt: String) throws -> StoredEmbedding? {
        try writer.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT shape, data FROM prompt_embeddings WHERE encoder = ? AND prompt = ?",
                                             arguments: [encoder, prompt]) else { return nil }
            let shapeText: String = row["shape"]
            let data: Data = row["data"]
            let shape = shapeText.split(separator: ",").compactMap { Int($0) }
            let count = shape.reduce(1, *)
            guard data.count == count * 4 else {
                throw DatabaseError(message: "prompt_embeddings row (\(encoder), \(prompt)): \(data.count) bytes for shape \(shape)")
            }
            var values = [Float](repeating: 0, count: count)
            values.withUnsafeMutableBytes { dst in
                data.withUnsafeBytes { src in
                    for i in 0..<count { dst.storeBytes(of: Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))), toByteOffset: 4 * i, as: Float.self) }
                }
            }
            return StoredEmbedding(shape: shape, values: values)
        }
    }

    /// Stores (or replaces) the embedding of `prompt` by `encoder`.
    public func savePromptEmbedding(encoder: String, prompt: String, _ embedding: StoredEmbedding) throws {
        precondition(embedding.shape.reduce(1, *) == embedding.values.count)
        var data = Data(capacity: embedding.values.count * 4)
        for v in embedding.values { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        try writer.write { db in
            try db.execute(sql: """
                INSERT INTO prompt_embeddings (encoder, prompt, shape, data, created_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(encoder, prompt) DO UPDATE SET shape = excluded.shape, data = excluded.data
                """, arguments: [encoder, prompt, embedding.shape.map(String.init).joined(separator: ","), data, Date()])
        }
    }

    /// (encoder, prompt) of every stored embedding, sorted.
    public func promptEmbeddingKeys() throws -> [(encoder: String, prompt: String)] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT encoder, prompt FROM prompt_embeddings ORDER BY encoder, prompt").map { ($0["encoder"], $0["prompt"]) }
        }
    }
}
