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
            let pieces = tokenizer.encode(key).count - 1   // without </s>
            guard pieces >= T5TextEncoder.tokenCount else { return nil }
            return "the prompt \"\(ModelError.quote(prompt, limit: 80))\" is \(pieces) tokens; T5 reads the first \(T5TextEncoder.tokenCount - 1) (the IF pipeline truncates it the same way)"
        }
        guard try lock.withLock({ try known(key) }) != nil else { throw missing(prompt) }
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
        try lock.withLock {
            for p in prompts {
                let key = PromptEmbeddings.normalized(p)
                if try known(key) == nil, !missingKeys.contains(key) { missingKeys.append(key) }
            }
        }
        guard !missingKeys.isEmpty else { return [] }
        guard let textEncoder else { throw missing(missingKeys[0]) }
        let t5 = try T5TextEncoder(textEncoder, tokenizer: try tokenizer())
        try t5.requireWidth(width)
        for (i, key) in missingKeys.enumerated() {
            let embedding = try t5.embed(key, progress: { done, total in
                progress?(EncodingProgress(prompt: i, prompts: missingKeys.count, block: done, blocks: total, text: key))
            }, shouldStop: shouldStop)
            try lock.withLock { try keep(key, embedding) }
        }
        return missingKeys
    }
}
