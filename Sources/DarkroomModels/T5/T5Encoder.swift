import Foundation
import DarkroomSupport
import DarkroomTensor

/// An encode stopped between two blocks because its caller asked (a job cancelled, the daemon stopping).
public struct EncodingInterrupted: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "the prompt encode was stopped" }
}

/// transformers' `T5EncoderModel` forward in Float32 over weights kept as stored (fp32, or fp16/bf16 memory-mapped and
/// widened block by block as each layer uses them, their pages handed back afterwards).
///
/// Per block: RMSNorm (no mean, no bias) → self-attention without 1/√d and with the relative-position bias of block 0,
/// keys past the prompt's tokens masked → residual; RMSNorm → gated tanh-GELU feed-forward → residual. A final RMSNorm.
/// Every row is returned, padding included, as the IF pipeline passes them to the UNet.
public final class T5Encoder {
    public let config: T5Config
    /// The weights' file (or shard index), for messages.
    public let path: String

    struct Block {
        let attentionNorm: Tensor, q: WeightTensor, k: WeightTensor, v: WeightTensor, o: WeightTensor
        let feedForwardNorm: Tensor, gate: WeightTensor, up: WeightTensor, down: WeightTensor
    }

    let embedding: WeightTensor
    let relativeBias: Tensor
    let blocks: [Block]
    let finalNorm: Tensor
    /// When set, wall time by part (linear layers, attention, norms and GELU) is added to it (benchmarks).
    public var profiler: LayerProfiler?

    /// Runs `body`, adding its time to `kind` when profiling.
    private func timed<T>(_ kind: String, _ body: () throws -> T) rethrows -> T {
        guard let profiler else { return try body() }
        return try profiler.measure(kind, body)
    }

    /// Loads the encoder of `folder` (transformers' `config.json` and weights): `model.safetensors` or shards with
    /// `model.safetensors.index.json`, else their `.fp16` or `.bf16` variants.
    public convenience init(folder: String) throws {
        let configPath = (folder as NSString).appendingPathComponent("config.json")
        let config = try T5Config.load(path: configPath)
        guard let source = try SafeTensorsShards.open(folder: folder, variants: [nil, "fp16", "bf16"]) else {
            throw ModelError.badConfig(path: folder, key: nil, reason: "no text encoder weights: expected model.safetensors, or model.safetensors.index.json with its shards (or their .fp16 / .bf16 variants)")
        }
        try self.init(config: config, weights: source)
    }

    public init(config: T5Config, weights: any SafeTensorsSource) throws {
        self.config = config
        path = weights.path
        var missing: [String] = [], misshaped: [String] = []
        // A tensor that is missing or misshaped gets a one-value placeholder (never a full-size one: an XXL config
        // over the wrong files would allocate gigabytes before the error); the error below lists them all.
        let placeholder = WeightTensor(Tensor(zeros: [1]))
        func take(_ name: String, _ shape: [Int], alternative: String? = nil) -> WeightTensor {
            guard let found = [name, alternative].compactMap({ $0 }).first(where: { weights.entries[$0] != nil }), let entry = weights.entries[found] else {
                missing.append(name)
                return placeholder
            }
            guard entry.shape == shape else {
                misshaped.append("\(found) is \(entry.shape), expected \(shape)")
                return placeholder
            }
            do { return try weights.weight(found) } catch {
                misshaped.append("\(error)")
                return placeholder
            }
        }
        func vector(_ name: String, _ count: Int) -> Tensor { take(name, [count]).widened() }
        let (d, inner, ff) = (config.dModel, config.inner, config.dFF)
        embedding = take("shared.weight", [config.vocabularySize, d], alternative: "encoder.embed_tokens.weight")
        relativeBias = take("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", [config.buckets, config.heads]).widened()
        blocks = (0..<config.layers).map { i in
            let a = "encoder.block.\(i).layer.0.", f = "encoder.block.\(i).layer.1."
            return Block(attentionNorm: vector(a + "layer_norm.weight", d),
                         q: take(a + "SelfAttention.q.weight", [inner, d]), k: take(a + "SelfAttention.k.weight", [inner, d]),
                         v: take(a + "SelfAttention.v.weight", [inner, d]), o: take(a + "SelfAttention.o.weight", [d, inner]),
                         feedForwardNorm: vector(f + "layer_norm.weight", d),
                         gate: take(f + "DenseReluDense.wi_0.weight", [ff, d]), up: take(f + "DenseReluDense.wi_1.weight", [ff, d]),
                         down: take(f + "DenseReluDense.wo.weight", [d, ff]))
        }
        finalNorm = vector("encoder.final_layer_norm.weight", d)
        if !missing.isEmpty || !misshaped.isEmpty {
            throw ModelError.checkpointMismatch(path: weights.path, missing: missing, unexpected: [], misshaped: misshaped)
        }
    }

    /// True when the weights are kept in 16 bits.
    public var isHalf: Bool { blocks.first?.q.isHalf ?? embedding.isHalf }

    /// `last_hidden_state` [ids.count, d_model] for token `ids` of which the first `attended` are real (the rest is
    /// padding, masked as keys). `progress(done, total)` is called after each block; `shouldStop` is asked before each
    /// one, and true throws `EncodingInterrupted`.
    public func encode(_ ids: [Int], attended: Int, progress: ((Int, Int) -> Void)? = nil, shouldStop: (() -> Bool)? = nil) throws -> Tensor {
        let length = ids.count
        guard length > 0, attended >= 1, attended <= length else {
            throw ModelError.badInput("T5 encode: \(attended) attended tokens of \(length)")
        }
        if let bad = ids.first(where: { $0 < 0 || $0 >= config.vocabularySize }) {
            throw ModelError.badInput("T5 encode: token id \(bad) is outside the vocabulary of \(config.vocabularySize)")
        }
        let (d, inner, ff, heads, dk) = (config.dModel, config.inner, config.dFF, config.heads, config.dKV)
        let x = Tensor(uninitialized: [length, d])
        embedding.gatherRows(ids, into: x.pointer)
        let bias = positionBias(length: length)
        let h = Tensor(uninitialized: [length, d])
        let q = Tensor(uninitialized: [length, inner]), k = Tensor(uninitialized: [length, inner]), v = Tensor(uninitialized: [length, inner])
        let attention = Tensor(uninitialized: [length, inner])
        let scores = Tensor(uninitialized: [heads, length, length])
        let gate = Tensor(uninitialized: [length, ff]), up = Tensor(uninitialized: [length, ff])
        for (index, block) in blocks.enumerated() {
            if shouldStop?() == true { throw EncodingInterrupted() }
            timed("norms and GELU") { rmsNorm(x, scale: block.attentionNorm, into: h) }
            timed("linear") {
                block.q.applyLinear(h.pointer, rows: length, into: q.pointer)
                block.k.applyLinear(h.pointer, rows: length, into: k.pointer)
                block.v.applyLinear(h.pointer, rows: length, into: v.pointer)
            }
            timed("attention") { performConcurrently(min(heads, Engine.threads)) { part in
                var head = part
                while head < heads {
                    let s = scores.pointer + head * length * length
                    // Scores Q_h·K_hᵀ (no 1/√d in T5), plus the position bias; masked keys get no weight.
                    sgemm(transposeB: true, m: length, n: attended, k: dk, a: q.pointer + head * dk, lda: inner,
                          b: k.pointer + head * dk, ldb: inner, c: s, ldc: length)
                    let b = bias.pointer + head * length * length
                    for i in 0..<length {
                        let row = s + i * length, biasRow = b + i * length
                        var largest = -Float.infinity
                        for j in 0..<attended { row[j] += biasRow[j]; largest = max(largest, row[j]) }
                        var sum: Float = 0
                        for j in 0..<attended { row[j] = exp(row[j] - largest); sum += row[j] }
                        let inverse = 1 / sum
                        for j in 0..<attended { row[j] *= inverse }
                    }
                    sgemm(m: length, n: dk, k: attended, a: s, lda: length, b: v.pointer + head * dk, ldb: inner,
                          c: attention.pointer + head * dk, ldc: inner)
                    head += Engine.threads
                }
            } }
            timed("linear") { block.o.applyLinear(attention.pointer, rows: length, into: x.pointer, accumulate: true) }
            timed("norms and GELU") { rmsNorm(x, scale: block.feedForwardNorm, into: h) }
            timed("linear") {
                block.gate.applyLinear(h.pointer, rows: length, into: gate.pointer)
                block.up.applyLinear(h.pointer, rows: length, into: up.pointer)
            }
            timed("norms and GELU") { T5Encoder.gatedGELU(gate, up) }
            timed("linear") { block.down.applyLinear(gate.pointer, rows: length, into: x.pointer, accumulate: true) }
            progress?(index + 1, blocks.count)
        }
        let out = Tensor(uninitialized: [length, d])
        rmsNorm(x, scale: finalNorm, into: out)
        return out
    }

    /// bias[h, i, j] = table[bucket(i, j), h], computed once and shared by every block (as block 0 does in transformers).
    func positionBias(length: Int) -> Tensor {
        let heads = config.heads
        let out = Tensor(uninitialized: [heads, length, length])
        for i in 0..<length {
            for j in 0..<length {
                let row = relativeBias.pointer + config.bucket(query: i, key: j) * heads
                for h in 0..<heads { out.pointer[(h * length + i) * length + j] = row[h] }
            }
        }
        return out
    }

    /// out = x · rsqrt(mean(x²) + ε) · scale, per row (T5LayerNorm).
    func rmsNorm(_ x: Tensor, scale: Tensor, into out: Tensor) {
        let d = config.dModel
        for r in 0..<x.shape[0] {
            let row = x.pointer + r * d, o = out.pointer + r * d
            var sum: Float = 0
            for i in 0..<d { sum += row[i] * row[i] }
            let factor = 1 / (sum / Float(d) + config.epsilon).squareRoot()
            for i in 0..<d { o[i] = row[i] * factor * scale.pointer[i] }
        }
    }

    /// gate ← gelu_tanh(gate) ⊙ up, with tanh(u) = 1 − 2 / (e^{2u} + 1) eight lanes at a time.
    static func gatedGELU(_ gate: Tensor, _ up: Tensor) {
        let g = gate.pointer, u = up.pointer
        parallelRanges(gate.count) { range in
            var i = range.lowerBound
            while i + 8 <= range.upperBound {
                let v = UnsafeRawPointer(g + i).loadUnaligned(as: SIMD8<Float>.self)
                let w = UnsafeRawPointer(u + i).loadUnaligned(as: SIMD8<Float>.self)
                let inner = 0.7978845608028654 * (v + 0.044715 * v * v * v)
                let t = 1 - 2 / (Activation.exp(2 * inner) + 1)
                UnsafeMutableRawPointer(g + i).storeBytes(of: 0.5 * v * (1 + t) * w, as: SIMD8<Float>.self)
                i += 8
            }
            while i < range.upperBound {
                let v = g[i]
                g[i] = 0.5 * v * (1 + tanh(0.7978845608028654 * (v + 0.044715 * v * v * v))) * u[i]
                i += 1
            }
        }
    }
}
