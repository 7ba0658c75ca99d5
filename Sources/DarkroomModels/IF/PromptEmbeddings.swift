import Foundation
import DarkroomTensor
import DarkroomText

/// A store of prompt embeddings that outlives the embedding file (the daemon's SQLite database).
public protocol PromptEmbeddingCache: AnyObject {
    /// The embedding of `prompt` by `encoder`, if it was stored before.
    func embedding(encoder: String, prompt: String) throws -> Tensor?
    /// Keeps `embedding` for (`encoder`, `prompt`).
    func store(encoder: String, prompt: String, embedding: Tensor) throws
}

/// Text-encoder outputs for DeepFloyd IF, by prompt, from (in order) memory, the cache keyed by (encoder, prompt),
/// an optional safetensors file of named tensors [77, E] (the tensor's name is the prompt; "" is the unconditional
/// embedding), and the model's own T5 encoder when it has one. Whatever the file or the encoder gives is cached, so
/// a prompt is encoded once per database.
///
/// Prompts are matched as the IF pipeline prepares them: lowercased and stripped. The cache names the encoder by
/// `T5TextEncoder.Location.identity()` when the model has one, else by the file's `__metadata__` `"encoder"`
/// (default `t5-v1_1-xxl`). `darkroom encode` and `scripts/make_prompt_embeddings.py` write such files.
public final class PromptEmbeddings {
    public let path: String
    public let encoder: String
    private let file: SafeTensorsFile?
    private let byPrompt: [String: String]
    private let cache: PromptEmbeddingCache?
    private var loaded: [String: Tensor] = [:]
    let lock = NSLock()
    /// Width E every embedding must have, and its token count.
    public let width: Int
    /// The model's T5 tokenizer and encoder, when it has them: prompts found nowhere else are encoded.
    public let textEncoder: T5TextEncoder.Location?
    /// The tokenizer, loaded on first use (intake checks prompts with it).
    var tokenizerIfLoaded: T5Tokenizer?

    /// Opens `path` if it exists (a missing file leaves the cache and the encoder); `width` is the model's encoder
    /// width. `encoder` names the text encoder for the cache (default: the text encoder's identity, else the file's
    /// metadata, else `t5-v1_1-xxl`).
    /// `tokenizer`, when given, is the text encoder's already loaded (it is not read again).
    public init(path: String, width: Int, encoder: String? = nil, cache: PromptEmbeddingCache? = nil,
                textEncoder: T5TextEncoder.Location? = nil, tokenizer: T5Tokenizer? = nil) throws {
        self.path = path
        self.width = width
        self.cache = cache
        self.textEncoder = textEncoder
        tokenizerIfLoaded = textEncoder == nil ? nil : tokenizer
        let encoderName = try encoder ?? textEncoder?.identity()
        if FileManager.default.fileExists(atPath: path) {
            let f = try SafeTensorsFile(path: path)
            for name in f.names {
                let shape = f.entries[name]!.shape
                guard shape.last == width, shape.count == 2 || (shape.count == 3 && shape[0] == 1) else {
                    throw ModelError.badInput("\(path): embedding '\(name)' is \(shape), expected [77, \(width)]")
                }
            }
            file = f
            self.encoder = encoderName ?? f.metadata["encoder"] ?? "t5-v1_1-xxl"
            byPrompt = Dictionary(f.names.map { (PromptEmbeddings.normalized($0), $0) }, uniquingKeysWith: { a, _ in a })
        } else {
            file = nil
            self.encoder = encoderName ?? "t5-v1_1-xxl"
            byPrompt = [:]
        }
    }

    /// A prompt as the IF pipeline feeds it to T5 (`encode_prompt` without caption cleaning): lowercased, stripped.
    public static func normalized(_ prompt: String) -> String {
        prompt.lowercased().trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Prompts the file holds, sorted ("" first).
    public var available: [String] { byPrompt.keys.sorted() }

    /// The embedding [L, E] of `prompt` from memory, the cache or the file (then cached); nil when none has it.
    /// Call with `lock` held.
    func known(_ key: String) throws -> Tensor? {
        if let t = loaded[key] { return t }
        var found = try cache?.embedding(encoder: encoder, prompt: key)
        if found == nil, let file, let name = byPrompt[key] {
            let t = try file.tensor(name)
            let owned = t.copy().reshaped([t.count / width, width])
            try cache?.store(encoder: encoder, prompt: key, embedding: owned)
            found = owned
        }
        guard let embedding = found else { return nil }
        guard embedding.shape.last == width else {
            throw ModelError.badInput("the cached embedding of \"\(ModelError.quote(key))\" is \(embedding.shape), the model needs width \(width)")
        }
        remember(key, embedding)
        return embedding
    }

    /// Keeps `embedding` in memory (bounded: a daemon sees ever new prompts). Call with `lock` held.
    func remember(_ key: String, _ embedding: Tensor) {
        if loaded.count >= 64 { loaded.removeAll() }
        loaded[key] = embedding
    }

    /// Stores a freshly encoded embedding in the cache and memory. Call with `lock` held.
    func keep(_ key: String, _ embedding: Tensor) throws {
        try cache?.store(encoder: encoder, prompt: key, embedding: embedding)
        remember(key, embedding)
    }

    /// The embedding [L, E] of `prompt`: known already, or encoded by the model's T5 (and cached).
    public func embedding(for prompt: String) throws -> Tensor {
        let key = PromptEmbeddings.normalized(prompt)
        if let t = try lock.withLock({ try known(key) }) { return t }
        guard textEncoder != nil else { throw missing(prompt) }
        try encodeMissing([prompt])
        guard let t = try lock.withLock({ try known(key) }) else { throw missing(prompt) }
        return t
    }

    func missing(_ prompt: String) -> ModelError {
        let shown = available.map { "\"\($0)\"" }
        let list = file == nil ? "none (\(path) does not exist)" : shown.isEmpty ? "none" : shown.prefix(30).joined(separator: ", ") + (shown.count > 30 ? ", …" : "")
        return .badInput("""
            no text embedding for the prompt "\(ModelError.quote(prompt))" (encoder \(encoder)). Available: \(list). \
            The model has no text encoder: put DeepFloyd IF's tokenizer/ and text_encoder/ folders beside its unet/ \
            (or name them with "tokenizer" and "text_encoder" in its config.json entry) and Darkroom encodes any prompt; \
            or add it with `darkroom encode --model FOLDER --output \(path) --append "\(ModelError.quote(prompt, limit: 200))"` \
            on a machine with the T5 weights, or use one of the available prompts.
            """)
    }
}
