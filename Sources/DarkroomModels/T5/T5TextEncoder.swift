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
        /// files, and each weight file's name, size, header and sixteen samples of its data, so two different encoders
        /// (a fine-tune of the same shapes included) never share a cached prompt.
        public func identity() throws -> String {
            let config = try T5Config.load(path: (encoder as NSString).appendingPathComponent("config.json"))
            let fm = FileManager.default
            var hash = ContentHash()
            hash.add(fm.contents(atPath: (encoder as NSString).appendingPathComponent("config.json")) ?? Data())
            for file in ["spiece.model", "tokenizer_config.json"] {
                hash.add(fm.contents(atPath: (tokenizer as NSString).appendingPathComponent(file)) ?? Data())
            }
            for name in ((try? fm.contentsOfDirectory(atPath: encoder)) ?? []).sorted() where name.hasSuffix(".safetensors") {
                let path = (encoder as NSString).appendingPathComponent(name)
                hash.add(name)
                guard let file = FileHandle(forReadingAtPath: path) else { continue }
                defer { try? file.close() }
                let size = (try? file.seekToEnd()) ?? 0
                hash.add("\(size)")
                for i in 0..<17 {   // the first 64 KB (header and the start of the data), then 16 windows of 4 KB
                    let offset = i == 0 ? 0 : size / 17 * UInt64(i)
                    try? file.seek(toOffset: offset)
                    hash.add((try? file.read(upToCount: i == 0 ? 65_536 : 4096)) ?? Data())
                }
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

    /// Loads the encoder (weights memory-mapped, not read yet) and the tokenizer, unless one loaded from `location`
    /// is given. (The cache name, `location.identity()`, reads the files: it is asked for where it is needed.)
    public init(_ location: Location, tokenizer loaded: T5Tokenizer? = nil) throws {
        self.location = location
        tokenizer = try loaded ?? location.loadTokenizer()
        encoder = try T5Encoder(folder: location.encoder)
        guard tokenizer.vocabularySize <= encoder.config.vocabularySize else {
            throw ModelError.badConfig(path: (location.encoder as NSString).appendingPathComponent("config.json"), key: "vocab_size",
                                       reason: "\(encoder.config.vocabularySize) is smaller than the tokenizer's \(tokenizer.vocabularySize) tokens")
        }
    }

    /// Throws unless the encoder's output width is `width` (the UNet's `encoder_hid_dim`), naming `d_model`.
    public func requireWidth(_ width: Int) throws {
        guard encoder.config.dModel == width else {
            throw ModelError.badConfig(path: (location.encoder as NSString).appendingPathComponent("config.json"), key: "d_model",
                                       reason: "\(encoder.config.dModel), but the UNet's encoder_hid_dim is \(width): this is not the model's text encoder")
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
