import Foundation
import DarkroomSupport
import DarkroomTensor
import DarkroomText

/// DeepFloyd IF's text side: the T5 tokenizer and encoder of an IF folder, turning a prompt into the [77, d_model]
/// embedding the UNet takes, as the pipeline's `encode_prompt` does (lowercased, stripped, no caption cleaning).
public final class T5TextEncoder {
    /// Where the tokenizer and encoder of a model live, found without loading any weights.
    public struct Location: Equatable, Sendable {
        /// The folder holding `spiece.model`.
        public let tokenizer: String
        /// The folder holding the encoder's `config.json` and weights.
        public let encoder: String

        public init(tokenizer: String, encoder: String) {
            self.tokenizer = tokenizer
            self.encoder = encoder
        }

        /// The text side of an IF folder: `tokenizer/` and `text_encoder/` inside `folder` (a pipeline folder, or a
        /// folder holding just those two), unless given elsewhere. Nil when either is absent.
        public static func find(in folder: String, tokenizer: String? = nil, encoder: String? = nil) -> Location? {
            let t = tokenizer ?? (folder as NSString).appendingPathComponent("tokenizer")
            let e = encoder ?? (folder as NSString).appendingPathComponent("text_encoder")
            let fm = FileManager.default
            guard fm.fileExists(atPath: (t as NSString).appendingPathComponent("spiece.model")),
                  fm.fileExists(atPath: (e as NSString).appendingPathComponent("config.json")) else { return nil }
            return Location(tokenizer: t, encoder: e)
        }

        /// A name for this encoder in the embedding cache: its width and depth, and a hash of its config, its tokenizer
        /// and its weight files' names and sizes, so two different encoders never share a cached prompt.
        public func identity() throws -> String {
            let config = try T5Config.load(path: (encoder as NSString).appendingPathComponent("config.json"))
            var hash = ContentHash()
            for file in ["config.json"] { hash.add(FileManager.default.contents(atPath: (encoder as NSString).appendingPathComponent(file)) ?? Data()) }
            hash.add(FileManager.default.contents(atPath: (tokenizer as NSString).appendingPathComponent("spiece.model")) ?? Data())
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: encoder)) ?? []).sorted() where name.hasSuffix(".safetensors") {
                let size = (try? FileManager.default.attributesOfItem(atPath: (encoder as NSString).appendingPathComponent(name))[.size] as? Int) ?? 0
                hash.add("\(name) \(size ?? 0)")
            }
            return "t5-d\(config.dModel)-l\(config.layers)-\(hash.hex.prefix(12))"
        }

        /// The tokenizer alone (cheap: for checking prompts at intake).
        public func loadTokenizer() throws -> T5Tokenizer {
            var extraIDs = T5Tokenizer.defaultExtraIDs
            let configPath = (tokenizer as NSString).appendingPathComponent("tokenizer_config.json")
            if let data = FileManager.default.contents(atPath: configPath) {
                guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                    throw ModelError.badConfig(path: configPath, key: nil, reason: "not a JSON object")
                }
                if let raw = object["extra_ids"] {
                    guard let n = raw as? Int, (0...1000).contains(n) else {
                        throw ModelError.badConfig(path: configPath, key: "extra_ids", reason: "must be an integer in 0…1000, found \(raw)")
                    }
                    extraIDs = n
                }
            }
            return try T5Tokenizer(path: (tokenizer as NSString).appendingPathComponent("spiece.model"), extraIDs: extraIDs)
        }
    }

    /// Token rows the IF pipeline gives T5.
    public static let tokenCount = 77

    public let location: Location
    public let tokenizer: T5Tokenizer
    public let encoder: T5Encoder
    public let identity: String

    /// Loads the tokenizer and the encoder (weights memory-mapped, not read yet).
    public init(_ location: Location) throws {
        self.location = location
        tokenizer = try location.loadTokenizer()
        encoder = try T5Encoder(folder: location.encoder)
        identity = try location.identity()
        guard tokenizer.vocabularySize <= encoder.config.vocabularySize else {
            throw ModelError.badConfig(path: (location.encoder as NSString).appendingPathComponent("config.json"), key: "vocab_size",
                                       reason: "\(encoder.config.vocabularySize) is smaller than the tokenizer's \(tokenizer.vocabularySize) tokens")
        }
    }

    /// The pipeline's token ids of `prompt`: lowercased and stripped, `</s>`, padded to 77.
    public static func tokens(_ prompt: String, tokenizer: T5Tokenizer) -> (ids: [Int], tokens: Int, truncated: Bool) {
        tokenizer.encodeForT5(PromptEmbeddings.normalized(prompt), length: tokenCount)
    }

    /// The embedding [77, d_model] of `prompt`. `progress(done, total)` follows the encoder's blocks; `shouldStop`
    /// can stop it between two (`EncodingInterrupted`).
    public func embed(_ prompt: String, progress: ((Int, Int) -> Void)? = nil, shouldStop: (() -> Bool)? = nil) throws -> Tensor {
        let (ids, tokens, _) = T5TextEncoder.tokens(prompt, tokenizer: tokenizer)
        return try encoder.encode(ids, attended: tokens, progress: progress, shouldStop: shouldStop)
    }
}
