import Foundation
import DarkroomTensor
import DarkroomText

/// Where a prompt encode is: prompt `prompt` of `prompts`, after `block` of `blocks` encoder blocks.
public struct EncodingProgress: Sendable {
    public var prompt: Int
    public var prompts: Int
    public var block: Int
    public var blocks: Int
    /// The prompt being encoded (normalised).
    public var text: String
}

extension PromptEmbeddings {
    /// The tokenizer of the model's text encoder (loaded once; cheap beside the encoder).
    public func tokenizer() throws -> T5Tokenizer? {
        guard let textEncoder else { return nil }
        lock.lock()
        defer { lock.unlock() }
        if let t = tokenizerIfLoaded { return t }
        let t = try textEncoder.loadTokenizer()
        tokenizerIfLoaded = t
        return t
    }

    /// Checks that `prompt` can be had without encoding anything: known already, or the model has an encoder. Returns
    /// a note when the pipeline's 77 tokens cut it short. Throws the "no embedding" error otherwise.
    public func check(_ prompt: String) throws -> String? {
        let key = PromptEmbeddings.normalized(prompt)
        if let tokenizer = try tokenizer() {
            let (_, _, truncated) = T5TextEncoder.tokens(key, tokenizer: tokenizer)
            let pieces = tokenizer.encode(key).count - 1
            return truncated ? "the prompt \"\(ModelError.quote(prompt, limit: 80))\" is \(pieces) tokens; T5 reads the first \(T5TextEncoder.tokenCount - 1) (the IF pipeline truncates it the same way)" : nil
        }
        lock.lock()
        defer { lock.unlock() }
        guard try known(key) != nil else { throw missing(prompt) }
        return nil
    }

    /// Encodes every prompt of `prompts` that is not known yet with the model's T5, caching each; returns those it
    /// encoded. The encoder is loaded for this call only (its weights stay memory-mapped, their pages handed back as
    /// each block is used), so it is never resident beside the UNet between jobs. `shouldStop` is asked between blocks:
    /// true throws `EncodingInterrupted`, keeping the prompts already encoded.
    @discardableResult
    public func encodeMissing(_ prompts: [String], progress: ((EncodingProgress) -> Void)? = nil,
                              shouldStop: (() -> Bool)? = nil) throws -> [String] {
        var missingKeys: [String] = []
        lock.lock()
        do {
            for p in prompts {
                let key = PromptEmbeddings.normalized(p)
                if try known(key) == nil, !missingKeys.contains(key) { missingKeys.append(key) }
            }
        } catch {
            lock.unlock()
            throw error
        }
        lock.unlock()
        guard !missingKeys.isEmpty else { return [] }
        guard let textEncoder else { throw missing(missingKeys[0]) }
        let t5 = try T5TextEncoder(textEncoder)
        guard t5.encoder.config.dModel == width else {
            throw ModelError.badConfig(path: (textEncoder.encoder as NSString).appendingPathComponent("config.json"), key: "d_model",
                                       reason: "\(t5.encoder.config.dModel), but the UNet's encoder_hid_dim is \(width)")
        }
        for (i, key) in missingKeys.enumerated() {
            let embedding = try t5.embed(key, progress: { done, total in
                progress?(EncodingProgress(prompt: i, prompts: missingKeys.count, block: done, blocks: total, text: key))
            }, shouldStop: shouldStop)
            lock.lock()
            defer { lock.unlock() }
            try keep(key, embedding)
        }
        return missingKeys
    }
}

/// A denoiser whose prompts go through a text encoder: prompts are checked at intake without encoding, and encoded
/// (with progress) before sampling.
public protocol PromptEncoding: AnyObject {
    /// Notes on how the prompts will be read (a prompt past the encoder's length); throws for a prompt that cannot be had.
    func checkPrompts(_ prompts: [String]) throws -> [String]
    /// Encodes the prompts not known yet; returns those it encoded. `shouldStop` true between two encoder blocks
    /// throws `EncodingInterrupted`.
    func encodeMissing(_ prompts: [String], progress: ((EncodingProgress) -> Void)?, shouldStop: (() -> Bool)?) throws -> [String]
}
