import Foundation
import DarkroomTensor

/// diffusers' `TextTimeEmbedding` (IF's `add_embedding`): LayerNorm over the raw encoder states, attention pooling
/// with a mean class token, projection to the time-embedding width, LayerNorm.
struct IFTextPooling {
    let norm1, norm2: NormLayer
    let positional: Tensor
    let q, k, v, proj: DenseLayer
    let heads: Int

    init(_ r: WeightReader, _ prefix: String, config: IFUNetConfig) {
        let e = config.encoderHidDim
        norm1 = NormLayer(r, prefix + "norm1.", e)
        positional = r.take(prefix + "pool.positional_embedding", [1, e])
        q = DenseLayer(r, prefix + "pool.q_proj.", e, e)
        k = DenseLayer(r, prefix + "pool.k_proj.", e, e)
        v = DenseLayer(r, prefix + "pool.v_proj.", e, e)
        proj = DenseLayer(r, prefix + "proj.", e, config.timeEmbeddingDim)
        norm2 = NormLayer(r, prefix + "norm2.", config.timeEmbeddingDim)
        heads = config.poolingHeads
    }

    /// The pooled text term [T] for one sample's encoder states `e` [L, E].
    func callAsFunction(_ e: Tensor) throws -> Tensor {
        let (tokens, width) = (e.shape[0], e.shape[1])
        let h = try Normalization.layerNorm(e, weight: norm1.weight, bias: norm1.bias, epsilon: 1e-5)
        // X = [class token; h], the class token being the mean of all L rows plus the positional embedding.
        let x = Tensor(zeros: [tokens + 1, width])
        (x.pointer + width).update(from: h.pointer, count: tokens * width)
        let cls = x.pointer
        for t in 0..<tokens {
            let row = h.pointer + t * width
            for c in 0..<width { cls[c] += row[c] }
        }
        let inverse = 1 / Float(tokens)
        for c in 0..<width { cls[c] = cls[c] * inverse + positional.pointer[c] }
        // Only the class token queries, so per head j (channels J): q_J·k_{s,J} = (W_k[J]ᵀq_J)·x_s + q_J·b_k[J], and
        // Σ_s w_s·v_{s,J} = W_v[J]·(Σ_s w_s·x_s) + b_v[J] (the weights sum to 1). Keys and values of all L+1 rows
        // are never formed: ~5·E² multiply-adds instead of 3·(L+1)·E².
        let query = try q(Tensor(shape: [1, width], storage: TensorStorage(borrowing: x.pointer, count: width, owner: x.storage)))
        let d = width / heads
        let rows = tokens + 1
        let u = Tensor(uninitialized: [heads, width])       // row j: W_k[J]ᵀ·q_J
        var offsets = [Float](repeating: 0, count: heads)   // q_J·b_k[J]
        k.weight.withFloat { wk in
            for j in 0..<heads {
                sgemm(transposeA: true, m: width, n: 1, k: d, a: wk.pointer + j * d * width, lda: width,
                      b: query.pointer + j * d, ldb: 1, c: u.pointer + j * width, ldc: 1)
                for c in (j * d)..<((j + 1) * d) { offsets[j] += query.pointer[c] * k.bias.pointer[c] }
            }
        }
        let scores = Tensor(uninitialized: [heads, rows])   // head j's logits over the L+1 rows
        sgemm(transposeB: true, m: heads, n: rows, k: width, a: u.pointer, b: x.pointer, c: scores.pointer)
        for j in 0..<heads {
            let row = scores.pointer + j * rows
            for s in 0..<rows { row[s] += offsets[j] }
            Softmax.rowInPlace(row, count: rows, scale: 1 / Float(d).squareRoot())
        }
        let mixed = Tensor(uninitialized: [heads, width])   // row j: Σ_s w_{j,s}·x_s
        sgemm(m: heads, n: width, k: rows, a: scores.pointer, b: x.pointer, c: mixed.pointer)
        let pooled = Tensor(uninitialized: [1, width])
        v.weight.withFloat { wv in
            for j in 0..<heads {
                let block = pooled.pointer + j * d
                block.update(from: v.bias.pointer + j * d, count: d)
                sgemm(m: d, n: 1, k: width, a: wv.pointer + j * d * width, b: mixed.pointer + j * width, ldb: 1,
                      beta: 1, c: block, ldc: 1)
            }
        }
        let projected = try proj(pooled)
        return try Normalization.layerNorm(projected, weight: norm2.weight, bias: norm2.bias, epsilon: 1e-5).reshaped([projected.count])
    }
}

/// The sinusoidal timestep embedding and its MLP (`time_proj` + `time_embedding`): [cos | sin] of t·10000^(−i/half)
/// in float32, then Linear, GELU, Linear. Stage II's class embedding (`class_embedding.`) is a second one, fed the
/// noise level.
struct IFTimeEmbedding {
    let linear1, linear2: DenseLayer
    let width: Int

    init(_ r: WeightReader, _ prefix: String = "time_embedding.", config: IFUNetConfig) {
        width = config.blockOutChannels[0]
        linear1 = DenseLayer(r, prefix + "linear_1.", width, config.timeEmbeddingDim)
        linear2 = DenseLayer(r, prefix + "linear_2.", config.timeEmbeddingDim, config.timeEmbeddingDim)
    }

    /// emb [B, T] for one timestep per sample.
    func callAsFunction(_ timesteps: [Float]) throws -> Tensor {
        let half = width / 2
        let sinusoid = Tensor(uninitialized: [timesteps.count, width])
        let logPeriod = Float(-log(10000.0))
        for (b, t) in timesteps.enumerated() {
            let row = sinusoid.pointer + b * width
            for i in 0..<half {
                let frequency = expf(logPeriod * Float(i) / Float(half))
                let angle = t * frequency
                row[i] = cosf(angle)
                row[half + i] = sinf(angle)
            }
        }
        let hidden = try linear1(sinusoid)
        Activation.geluInPlace(hidden)
        return try linear2(hidden)
    }
}
