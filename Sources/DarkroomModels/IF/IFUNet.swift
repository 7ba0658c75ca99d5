import Foundation
import DarkroomTensor

/// DeepFloyd IF's pixel UNet, stage I or stage II (diffusers `UNet2DConditionModel` with IF's configs), for inference.
///
/// Follows `../shared/spec/deepfloyd-if-stage1.md` §2: sinusoidal time embedding and MLP plus pooled text, text
/// projection, resnets with scale-shift, joint self/cross attention with added K/V, average-pool / nearest
/// resampling inside resnets, skips concatenated as [h, skip], GroupNorm+GELU+conv out to ε and variance. Stage II
/// (`deepfloyd-if-stage2.md` §2) adds the noise level's class embedding, per-level layer counts and resnet outputs
/// divided by √2; its input is [x_t, upscaled image].
// @unchecked Sendable: the weights (memory-mapped or loaded) are only read after init; layers allocate their outputs.
public final class IFUNet: @unchecked Sendable {
    struct Block {
        var resnets: [IFResnetBlock]
        var attentions: [IFAttention]
        var resampler: IFResnetBlock?
    }

    public let config: IFUNetConfig
    /// The weight file the network was loaded from (nil for random weights).
    public let weightsPath: String?
    /// When set, every forward pass adds its time per layer type here (benchmarks).
    public var profiler: LayerProfiler?

    private let convIn, convOut: ConvLayer
    private let time: IFTimeEmbedding
    private let classEmbedding: IFTimeEmbedding?
    private let pooling: IFTextPooling
    private let textProjection: DenseLayer
    private let down, up: [Block]
    private let midResnets: [IFResnetBlock]
    private let midAttention: IFAttention
    private let normOut: NormLayer
    /// Every attention layer in slot order.
    private let attentionLayers: [IFAttention]

    /// Builds the network, taking every tensor from `reader` (call `reader.finish()` afterwards to check the fit).
    public init(config: IFUNetConfig, reader r: WeightReader, weightsPath: String? = nil) {
        self.config = config
        self.weightsPath = weightsPath
        let widths = config.blockOutChannels, layers = config.layersPerBlock
        var slots: [IFAttention] = []
        convIn = ConvLayer(r, "conv_in.", config.inChannels, widths[0], kernel: 3)
        time = IFTimeEmbedding(r, config: config)
        classEmbedding = config.hasClassEmbedding ? IFTimeEmbedding(r, "class_embedding.", config: config) : nil
        textProjection = DenseLayer(r, "encoder_hid_proj.", config.encoderHidDim, config.crossAttentionDim)
        pooling = IFTextPooling(r, "add_embedding.", config: config)

        /// One down or up block: `count` resnets (input widths by index), attentions after each when the block has
        /// them, and its resampling resnet unless it is the last block.
        let scale = config.resnetOutputScale
        func block(_ p: String, width: Int, side: Int, count: Int, attention: Bool, inputs: (Int) -> Int,
                   resampler: (prefix: String, kind: IFResnetBlock.Resample)?) -> Block {
            var block = Block(resnets: [], attentions: [], resampler: nil)
            for k in 0..<count {
                block.resnets.append(IFResnetBlock(r, p + "resnets.\(k).", inputs(k), width, config: config, side: side, outputScale: scale))
                if attention { block.attentions.append(IFUNet.attention(r, p + "attentions.\(k).", width, config, &slots)) }
            }
            if let resampler {
                block.resampler = IFResnetBlock(r, p + resampler.prefix, width, width, config: config, side: side,
                                                resample: resampler.kind, outputScale: scale)
            }
            return block
        }

        var channels = widths[0]
        down = widths.enumerated().map { i, width in
            defer { channels = width }
            return block("down_blocks.\(i).", width: width, side: config.sampleSize >> i, count: layers[i],
                         attention: config.downBlockHasAttention[i], inputs: { [channels] k in k == 0 ? channels : width },
                         resampler: i < widths.count - 1 ? ("downsamplers.0.", .down) : nil)
        }

        let midSide = config.sampleSize >> (widths.count - 1)
        let midScale = config.midBlockOutputScale
        midResnets = [IFResnetBlock(r, "mid_block.resnets.0.", channels, channels, config: config, side: midSide, outputScale: midScale),
                      IFResnetBlock(r, "mid_block.resnets.1.", channels, channels, config: config, side: midSide, outputScale: midScale)]
        midAttention = IFUNet.attention(r, "mid_block.attentions.0.", channels, config, &slots)

        let reversed = Array(widths.reversed()), reversedLayers = Array(layers.reversed())
        up = reversed.enumerated().map { i, width in
            defer { channels = width }
            // Resnet k takes h (the previous block's width first, then this one's) and a skip: the last skip of a
            // block comes from the next-shallower level.
            let skipWidth = reversed[min(i + 1, reversed.count - 1)]
            let count = reversedLayers[i] + 1
            return block("up_blocks.\(i).", width: width, side: config.sampleSize >> (reversed.count - 1 - i), count: count,
                         attention: config.upBlockHasAttention[i],
                         inputs: { [channels] k in (k == 0 ? channels : width) + (k == count - 1 ? skipWidth : width) },
                         resampler: i < reversed.count - 1 ? ("upsamplers.0.", .up) : nil)
        }
        normOut = NormLayer(r, "conv_norm_out.", widths[0])
        convOut = ConvLayer(r, "conv_out.", widths[0], config.outChannels, kernel: 3)
        attentionLayers = slots
    }

    /// An attention layer whose slot (index into every `IFTextContext`) is its place in `layers`, where it is added.
    private static func attention(_ r: WeightReader, _ prefix: String, _ channels: Int, _ config: IFUNetConfig,
                                  _ layers: inout [IFAttention]) -> IFAttention {
        let layer = IFAttention(r, prefix, channels: channels, config: config, slot: layers.count)
        layers.append(layer)
        return layer
    }

    /// Computes what one prompt embedding `e` [L, E] (or [1, L, E]) contributes to every forward pass.
    public func encodeText(_ e: Tensor) throws -> IFTextContext {
        let width = config.encoderHidDim
        guard e.count % width == 0, e.shape.last == width, e.rank == 2 || (e.rank == 3 && e.shape[0] == 1) else {
            throw ModelError.badInput("encoder_hidden_states for one sample must be [L,\(width)], got \(e.shape)")
        }
        let states = e.reshaped([e.count / width, width])
        let tokens = states.shape[0]
        let pooled = try pooling(states)
        // The projected context, channel-major [1, D, L], as norm_cross normalises it.
        let d = config.crossAttentionDim
        let ctxT = Tensor(uninitialized: [1, d, tokens])
        for o in 0..<d { (ctxT.pointer + o * tokens).update(repeating: textProjection.bias.pointer[o], count: tokens) }
        textProjection.weight.withFloat { w in
            sgemm(transposeB: true, m: d, n: tokens, k: width, a: w.pointer, b: states.pointer, beta: 1, c: ctxT.pointer)
        }
        var keys: [Tensor] = [], values: [Tensor] = []
        for layer in attentionLayers {
            let (k, v) = try layer.textKeysValues(ctxT)
            keys.append(k)
            values.append(v)
        }
        return IFTextContext(pooled: pooled, keys: keys, values: values)
    }

    /// Runs the network: `sample` [B,C,H,W], one timestep per sample, `encoderHiddenStates` [B,L,E]; stage II also
    /// takes one class label (the noise level of the upscaled image) per sample.
    public func forward(_ sample: Tensor, timesteps: [Float], classLabels: [Float]? = nil, encoderHiddenStates: Tensor) throws -> Tensor {
        guard encoderHiddenStates.rank == 3, encoderHiddenStates.shape[0] == sample.shape.first else {
            throw ModelError.badInput("encoder_hidden_states must be [B,L,\(config.encoderHidDim)] with B = \(sample.shape.first ?? 0), got \(encoderHiddenStates.shape)")
        }
        let contexts = try profiled(profiler, "text: pooling, projection, attention K/V") {
            try (0..<encoderHiddenStates.shape[0]).map { try encodeText(encoderHiddenStates.slice(batch: $0..<($0 + 1))) }
        }
        return try forward(sample, timesteps: timesteps, classLabels: classLabels, contexts: contexts)
    }

    /// Runs the network with text contexts from `encodeText`, one per sample.
    public func forward(_ sample: Tensor, timesteps: [Float], classLabels: [Float]? = nil, contexts: [IFTextContext]) throws -> Tensor {
        let m = config.sizeMultiple
        guard sample.rank == 4, sample.shape[1] == config.inChannels, sample.shape[2] % m == 0, sample.shape[3] % m == 0,
              sample.shape[2] > 0, sample.shape[3] > 0 else {
            throw ModelError.badInput("sample must be [B,\(config.inChannels),H,W] with H and W multiples of \(m), got \(sample.shape)")
        }
        let batch = sample.shape[0]
        guard timesteps.count == batch, contexts.count == batch else {
            throw ModelError.badInput("\(timesteps.count) timesteps and \(contexts.count) text contexts for a batch of \(batch)")
        }
        guard contexts.allSatisfy({ $0.keys.count == attentionLayers.count }) else {
            throw ModelError.badInput("a text context was encoded by a different model")
        }
        if classEmbedding != nil {
            guard let classLabels, classLabels.count == batch else {
                throw ModelError.badInput("a stage II UNet needs class_labels (the noise level), one per sample: \(classLabels?.count ?? 0) for a batch of \(batch)")
            }
        } else if classLabels != nil {
            throw ModelError.badInput("class_labels given to a UNet without a class embedding (stage I)")
        }
        // The whole batch goes through each layer, the layers splitting their work across the engine's threads:
        // IF's layers are large enough for that, and fp16 weights are then widened once per layer, not once per
        // shard (measured on IF-I-M, batch 2: 2.25 s and 1.47 GB peak, against 2.31 s and 1.70 GB sharded).
        return try run(sample, timesteps: timesteps, classLabels: classLabels, contexts: contexts)
    }

    private func run(_ x: Tensor, timesteps: [Float], classLabels: [Float]?, contexts: [IFTextContext]) throws -> Tensor {
        let p = profiler
        let emb = try profiled(p, "time embedding") { try time(timesteps) }
        let t = config.timeEmbeddingDim
        if let classEmbedding, let classLabels {
            let c = try profiled(p, "time embedding") { try classEmbedding(classLabels) }
            for i in 0..<emb.count { emb.pointer[i] += c.pointer[i] }
        }
        for (b, context) in contexts.enumerated() {
            for i in 0..<t { emb.pointer[b * t + i] += context.pooled.pointer[i] }
        }
        // GELU once (the config checks it): stage I's resnets each apply it before their projection, stage II applies it
        // to the sum (time_embedding_act_fn) and its resnets skip theirs.
        Activation.geluInPlace(emb)

        var h = try profiled(p, "conv in/out") { try convIn(x) }
        var skips = [h]
        for block in down {
            for (k, resnet) in block.resnets.enumerated() {
                h = try resnet(h, activeEmbedding: emb, profiler: p)
                if !block.attentions.isEmpty { h = try block.attentions[k](h, contexts: contexts, profiler: p) }
                skips.append(h)
            }
            if let resampler = block.resampler {
                h = try resampler(h, activeEmbedding: emb, profiler: p)
                skips.append(h)
            }
        }
        h = try midResnets[0](h, activeEmbedding: emb, profiler: p)
        h = try midAttention(h, contexts: contexts, profiler: p)
        h = try midResnets[1](h, activeEmbedding: emb, profiler: p)
        for block in up {
            for (k, resnet) in block.resnets.enumerated() {
                let joined = try profiled(p, "skip concat") { try Elementwise.concatChannels([h, skips.removeLast()]) }
                h = try resnet(joined, activeEmbedding: emb, profiler: p)
                if !block.attentions.isEmpty { h = try block.attentions[k](h, contexts: contexts, profiler: p) }
            }
            if let resampler = block.resampler { h = try resampler(h, activeEmbedding: emb, profiler: p) }
        }
        try profiled(p, "group norm + GELU") {
            try Normalization.groupNorm(h, into: h, groups: config.normGroups, weight: normOut.weight, bias: normOut.bias,
                                        epsilon: config.normEpsilon, epilogue: .init(gelu: true))
        }
        return try profiled(p, "conv in/out") { try convOut(h) }
    }
}
