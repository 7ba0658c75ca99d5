import Foundation
import DarkroomTensor

/// The text contexts (pooled term, per-layer text keys and values) a UNet computed for prompt embeddings, kept so that
/// each distinct prompt is encoded once per run, not at every step.
///
/// Keyed by the embedding's storage, which the entry holds, so that a key is never reused by another tensor.
final class IFTextContextCache: @unchecked Sendable {
    // @unchecked: `entries` is only touched under `lock`.
    private var entries: [ObjectIdentifier: (storage: TensorStorage, context: IFTextContext)] = [:]
    private let lock = NSLock()
    /// Contexts kept at most (a job uses one or two prompts and ""); a context is several MB.
    static let limit = 16

    /// The context of `embedding` for `unet`, computed on first use.
    func context(for embedding: Tensor, unet: IFUNet) throws -> IFTextContext {
        let key = ObjectIdentifier(embedding.storage)
        if let hit = lock.withLock({ entries[key] }) { return hit.context }
        let context = try unet.encodeText(embedding)
        lock.withLock {
            // A daemon sees ever new prompts: keep only the recent ones.
            if entries.count >= IFTextContextCache.limit { entries.removeAll() }
            entries[key] = (embedding.storage, context)
        }
        return context
    }
}
