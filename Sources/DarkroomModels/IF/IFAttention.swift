import DarkroomTensor

/// diffusers' `Attention` with `AttnAddedKVProcessor`, as IF's cross-attention blocks use it: spatial queries attend
/// jointly over the projected text tokens (first) and the spatial tokens; the output is added to the input.
///
/// Everything runs channel-major on the NCHW planes, so no token transposes are needed: Qᵀ = Wq·X̂ [inner, N];
/// the keys Kᵀ [inner, L+N] hold the text keys in their first L columns (computed once per prompt, see
/// `IFTextContext`) and the spatial keys after them; per head, S = Q_jK_jᵀ [N, L+N] and O_jᵀ = V_jᵀ·Sᵀ, fused per block
/// of queries (`Attention.channelMajor`).
struct IFAttention {
    let groupNorm, normCross: NormLayer
    let toQ, toK, toV, addK, addV, toOut: DenseLayer
    let heads, headDim, groups: Int
    /// diffusers builds both of the attention's GroupNorms with eps 1e-5 (not `norm_eps`) and `norm_cross` with 32
    /// groups (not `norm_num_groups`).
    static let epsilon: Float = 1e-5
    static let crossGroups = 32
    /// This layer's index into `IFTextContext.keys` and `.values`.
    let slot: Int

    init(_ r: WeightReader, _ prefix: String, channels: Int, config: IFUNetConfig, slot: Int) {
        let d = config.crossAttentionDim
        groupNorm = NormLayer(r, prefix + "group_norm.", channels)
        normCross = NormLayer(r, prefix + "norm_cross.", d)
        toQ = DenseLayer(r, prefix + "to_q.", channels, channels)
        toK = DenseLayer(r, prefix + "to_k.", channels, channels)
        toV = DenseLayer(r, prefix + "to_v.", channels, channels)
        addK = DenseLayer(r, prefix + "add_k_proj.", d, channels)
        addV = DenseLayer(r, prefix + "add_v_proj.", d, channels)
        toOut = DenseLayer(r, prefix + "to_out.0.", channels, channels)
        headDim = config.attentionHeadDim
        heads = channels / headDim
        groups = config.normGroups
        self.slot = slot
    }

    /// The text keys and values of this layer for one prompt: norm_cross over the projected context `ctxT`
    /// [D, L] (channel-major), then add_k_proj / add_v_proj, as [inner, L] each.
    func textKeysValues(_ ctxT: Tensor) throws -> (Tensor, Tensor) {
        let tokens = ctxT.shape[2]
        let normed = Tensor(uninitialized: ctxT.shape)
        try Normalization.groupNorm(ctxT, into: normed, groups: IFAttention.crossGroups, weight: normCross.weight,
                                    bias: normCross.bias, epsilon: IFAttention.epsilon, epilogue: .init(gelu: false))
        let keys = Tensor(uninitialized: [addK.outputs, tokens]), values = Tensor(uninitialized: [addV.outputs, tokens])
        addK.applyColumns(normed.pointer, n: tokens, into: keys.pointer)
        addV.applyColumns(normed.pointer, n: tokens, into: values.pointer)
        return (keys, values)
    }

    /// `x` [B,C,H,W] with one text context per sample.
    func callAsFunction(_ x: Tensor, contexts: [IFTextContext], profiler: LayerProfiler? = nil) throws -> Tensor {
        let (batch, channels) = (x.shape[0], x.shape[1])
        let n = x.shape[2] * x.shape[3]
        let normed = Tensor(uninitialized: x.shape)
        try profiled(profiler, "attention: group norm") {
            try Normalization.groupNorm(x, into: normed, groups: groups, weight: groupNorm.weight, bias: groupNorm.bias,
                                        epsilon: IFAttention.epsilon, epilogue: .init(gelu: false))
        }
        let out = x.copy()
        let scale = 1 / Float(headDim).squareRoot()
        for b in 0..<batch {
            let textK = contexts[b].keys[slot], textV = contexts[b].values[slot]
            let tokens = textK.shape[1]
            let lk = tokens + n
            let xb = normed.pointer + b * channels * n
            let q = TensorStorage(uninitializedCount: channels * n)
            let k = TensorStorage(uninitializedCount: channels * lk), v = TensorStorage(uninitializedCount: channels * lk)
            let o = TensorStorage(uninitializedCount: channels * n)
            profiled(profiler, "attention: q/k/v projections", flops: 6 * Double(channels * channels * n)) {
                toQ.applyColumns(xb, n: n, into: q.pointer)
                for row in 0..<channels {
                    (k.pointer + row * lk).update(from: textK.pointer + row * tokens, count: tokens)
                    (v.pointer + row * lk).update(from: textV.pointer + row * tokens, count: tokens)
                }
                toK.applyColumns(xb, n: n, into: k.pointer + tokens, ldc: lk)
                toV.applyColumns(xb, n: n, into: v.pointer + tokens, ldc: lk)
            }
            profiled(profiler, "attention: scores, softmax, values", flops: 4 * Double(n * lk * channels)) {
                Attention.channelMajor(query: q.pointer, key: k.pointer, value: v.pointer, into: o.pointer, heads: heads, headDim: headDim,
                                       queries: n, keys: lk, scale: scale)
            }
            profiled(profiler, "attention: output projection", flops: 2 * Double(channels * channels * n)) {
                toOut.applyColumns(o.pointer, n: n, into: out.pointer + b * channels * n, accumulate: true)
            }
        }
        return out
    }
}

/// Everything a forward pass needs from one prompt embedding, computed once and reused at every timestep:
/// the pooled text term added to the time embedding, and every attention layer's text keys and values.
// @unchecked Sendable: computed once from a prompt embedding, then only read.
public final class IFTextContext: @unchecked Sendable {
    /// LayerNorm(proj(AttentionPooling(LayerNorm(e)))) [T].
    public let pooled: Tensor
    let keys: [Tensor]
    let values: [Tensor]

    init(pooled: Tensor, keys: [Tensor], values: [Tensor]) {
        self.pooled = pooled
        self.keys = keys
        self.values = values
    }
}
