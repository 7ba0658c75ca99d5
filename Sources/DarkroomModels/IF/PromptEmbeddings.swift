import Foundation
import DarkroomTensor

/// A store of prompt embeddings that outlives the embedding file (the daemon's SQLite database).
public protocol PromptEmbeddingCache: AnyObject {
    /// The embedding of `prompt` by `encoder`, if it was stored before.
    func embedding(encoder: String, prompt: String) throws -> Tensor?
    /// Keeps `embedding` for (`encoder`, `prompt`).
    func store(encoder: String, prompt: String, embedding: Tensor) throws
}

/// Text-encoder outputs for DeepFloyd IF, by prompt: a safetensors file of named tensors [77, E] (the tensor's name
/// is the prompt; "" is the unconditional embedding), optionally backed by a cache keyed by (encoder, prompt).
///
/// Prompts are matched as the IF pipeline prepares them: lowercased and stripped. The file's `__metadata__` may name
/// the encoder (`"encoder"`, default `t5-v1_1-xxl`). `scripts/make_prompt_embeddings.py` writes such files.
public final class PromptEmbeddings {
    public let path: String
    public let encoder: String
    private let file: SafeTensorsFile?
    private let byPrompt: [String: String]
    private let cache: PromptEmbeddingCache?
    private var loaded: [String: Tensor] = [:]
    private let lock = NSLock()
    /// Width E every embedding must have, and its token count.
    public let width: Int

    /// Opens `path` if it exists (a missing file leaves only the cache); `width` is the model's encoder width.
    /// `encoder` names the text encoder for the cache (default: the file's metadata, else `t5-v1_1-xxl`).
    public init(path: String, width: Int, encoder: String? = nil, cache: PromptEmbeddingCache? = nil) throws {
        self.path = path
        self.width = width
        self.cache = cache
        if FileManager.default.fileExists(atPath: path) {
            let f = try SafeTensorsFile(path: path)
            for name in f.names {
                let shape = f.entries[name]!.shape
                guard shape.last == width, shape.count == 2 || (shape.count == 3 && shape[0] == 1) else {
                    throw ModelError.badInput("\(path): embedding '\(name)' is \(shape), expected [77, \(width)]")
                }
            }
            file = f
            self.encoder = encoder ?? f.metadata["encoder"] ?? "t5-v1_1-xxl"
            byPrompt = Dictionary(f.names.map { (PromptEmbeddings.normalized($0), $0) }, uniquingKeysWith: { a, _ in a })
        } else {
            file = nil
            self.encoder = encoder ?? "t5-v1_1-xxl"
            byPrompt = [:]
        }
    }

    /// A prompt as the IF pipeline feeds it to T5 (`encode_prompt` without caption cleaning): lowercased, stripped.
    public static func normalized(_ prompt: String) -> String {
        prompt.lowercased().trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Prompts the file holds, sorted ("" first).
    public var available: [String] { byPrompt.keys.sorted() }

    /// The embedding [L, E] of `prompt`: from memory, the cache, or the file (then stored in the cache).
    public func embedding(for prompt: String) throws -> Tensor {
        let key = PromptEmbeddings.normalized(prompt)
        lock.lock()
        defer { lock.unlock() }
        if let t = loaded[key] { return t }
        var found = try cache?.embedding(encoder: encoder, prompt: key)
        if found == nil, let file, let name = byPrompt[key] {
            let t = try file.tensor(name)
            let owned = t.copy().reshaped([t.count / width, width])
            try cache?.store(encoder: encoder, prompt: key, embedding: owned)
            found = owned
        }
        guard let embedding = found else { throw missing(prompt) }
        guard embedding.shape.last == width else {
            throw ModelError.badInput("the cached embedding of \"\(ModelError.quote(prompt))\" is \(embedding.shape), the model needs width \(width)")
        }
        if loaded.count >= 64 { loaded.removeAll() }   // bounded: a daemon sees ever new prompts
        loaded[key] = embedding
        return embedding
    }

    private func missing(_ prompt: String) -> ModelError {
        let shown = available.map { "\"\($0)\"" }
        let list = file == nil ? "none (\(path) does not exist)" : shown.isEmpty ? "none" : shown.prefix(30).joined(separator: ", ") + (shown.count > 30 ? ", …" : "")
        return .badInput("""
            no text embedding for the prompt "\(ModelError.quote(prompt))" (encoder \(encoder)). Available: \(list). \
            To add it, run `python3 scripts/make_prompt_embeddings.py --out \(path) --append "\(ModelError.quote(prompt, limit: 200))"` \
            on a machine with the T5 weights, or use one of the available prompts.
            """)
    }
}
