import Foundation

/// The parts of a transformers `T5Config` (text_encoder/config.json) the encoder uses. Anything Darkroom does not
/// implement is refused naming the key.
public struct T5Config: Equatable, Sendable {
    public var dModel: Int
    public var dKV: Int
    public var heads: Int
    public var dFF: Int
    public var layers: Int
    public var vocabularySize: Int
    public var buckets = 32
    public var maxDistance = 128
    public var epsilon: Float = 1e-6

    /// Width of the attention's inner projection (heads × d_kv).
    public var inner: Int { heads * dKV }

    public init(dModel: Int, dKV: Int, heads: Int, dFF: Int, layers: Int, vocabularySize: Int) {
        self.dModel = dModel
        self.dKV = dKV
        self.heads = heads
        self.dFF = dFF
        self.layers = layers
        self.vocabularySize = vocabularySize
    }

    /// Reads `path`, checking every key that changes the computation.
    public static func load(path: String) throws -> T5Config {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelError.badConfig(path: path, key: nil, reason: "cannot read the text encoder's config (expected transformers' T5 config.json)")
        }
        guard let o = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelError.badConfig(path: path, key: nil, reason: "not a JSON object")
        }
        func int(_ key: String, default value: Int? = nil) throws -> Int {
            guard let raw = o[key] else {
                if let value { return value }
                throw ModelError.badConfig(path: path, key: key, reason: "missing")
            }
            guard let n = raw as? Int, n > 0, n <= 1 << 20 else { throw ModelError.badConfig(path: path, key: key, reason: "must be a positive integer, found \(raw)") }
            return n
        }
        if let type = o["model_type"] as? String, type != "t5" {
            throw ModelError.badConfig(path: path, key: "model_type", reason: "'\(type)' is not implemented; Darkroom encodes with T5 (v1.1) encoders")
        }
        let projection = o["feed_forward_proj"] as? String ?? "relu"
        guard projection == "gated-gelu" else {
            throw ModelError.badConfig(path: path, key: "feed_forward_proj", reason: "'\(projection)' is not implemented; DeepFloyd IF's T5 v1.1 uses \"gated-gelu\"")
        }
        if let act = o["dense_act_fn"] as? String, !["gelu_new", "gelu_pytorch_tanh"].contains(act) {
            throw ModelError.badConfig(path: path, key: "dense_act_fn", reason: "'\(act)' is not implemented; gated-gelu uses the tanh GELU (gelu_new)")
        }
        var c = T5Config(dModel: try int("d_model"), dKV: try int("d_kv"), heads: try int("num_heads"), dFF: try int("d_ff"),
                         layers: try int("num_layers"), vocabularySize: try int("vocab_size"))
        c.buckets = try int("relative_attention_num_buckets", default: 32)
        c.maxDistance = try int("relative_attention_max_distance", default: 128)
        guard c.buckets >= 4, c.buckets % 2 == 0 else {
            throw ModelError.badConfig(path: path, key: "relative_attention_num_buckets", reason: "must be even and at least 4, found \(c.buckets)")
        }
        guard c.maxDistance > c.buckets / 4 else {
            throw ModelError.badConfig(path: path, key: "relative_attention_max_distance", reason: "must exceed a quarter of the buckets (\(c.buckets / 4))")
        }
        if let eps = o["layer_norm_epsilon"] {
            guard let e = (eps as? NSNumber)?.doubleValue, e > 0, e < 1 else {
                throw ModelError.badConfig(path: path, key: "layer_norm_epsilon", reason: "must be a small positive number, found \(eps)")
            }
            c.epsilon = Float(e)
        }
        return c
    }

    /// The bidirectional relative-position bucket of key j seen from query i (transformers' `_relative_position_bucket`,
    /// in Float32 as PyTorch computes it): half the buckets for keys after the query, exact up to a quarter of the
    /// buckets, logarithmic up to `maxDistance`.
    public func bucket(query i: Int, key j: Int) -> Int {
        let half = buckets / 2
        var bucket = j > i ? half : 0
        let n = abs(j - i)
        let exact = half / 2
        if n < exact { return bucket + n }
        let scaled = Float(log(Float(n) / Float(exact))) / Float(Foundation.log(Double(maxDistance) / Double(exact))) * Float(half - exact)
        bucket += min(exact + Int(scaled), half - 1)
        return bucket
    }
}
