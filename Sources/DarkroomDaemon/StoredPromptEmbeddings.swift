import DarkroomModels
import DarkroomTensor
import DarkroomStore

/// The daemon's prompt-embedding cache: embeddings jobs use are kept in the job database by (encoder, prompt).
public final class StoredPromptEmbeddings: PromptEmbeddingCache {
    let store: any JobStore

    public init(store: any JobStore) { self.store = store }

    public func embedding(encoder: String, prompt: String) throws -> Tensor? {
        try store.promptEmbedding(encoder: encoder, prompt: prompt).map { Tensor(shape: $0.shape, data: $0.values) }
    }

    public func store(encoder: String, prompt: String, embedding: Tensor) throws {
        try store.savePromptEmbedding(encoder: encoder, prompt: prompt, StoredEmbedding(shape: embedding.shape, values: embedding.scalars))
    }
}
