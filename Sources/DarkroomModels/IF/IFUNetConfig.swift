import Foundation

/// The parts of a diffusers `unet/config.json` that shape a DeepFloyd IF UNet (stage I or stage II), validated.
///
/// IF-I-M, L and XL differ only in `block_out_channels` and `cross_attention_dim`. Stage II (IF-II-M, L) adds the
/// upscaled image as three more input channels, the noise level as a class embedding, per-level layer counts and
/// scaled resnet outputs. Everything else the forward pass depends on is checked here, and a value Darkroom does not
/// implement is an error naming the key.
public struct IFUNetConfig: Equatable, Sendable {
    public var inChannels = 3
    public var outChannels = 6
    public var sampleSize = 64
    public var blockOutChannels: [Int]
    /// Resnets per down block, by level (up blocks have one more).
    public var layersPerBlock: [Int]
    /// Width of the time embedding (default 4 × the first block's channels; IF-II-L: 1280).
    public var timeEmbeddingDim: Int
    /// Stage II's `class_embed_type: "timestep"`: the noise level through the timestep sinusoid and its own MLP
    /// (`class_embedding.`), added to the time embedding.
    public var hasClassEmbedding = false
    /// `time_embedding_act_fn: "gelu"`: GELU once on the summed embedding.
    public var timeEmbeddingActivation = false
    /// `resnet_skip_time_act`: resnets project the embedding without applying GELU to it themselves.
    public var resnetSkipTimeActivation = false
    /// Resnet outputs are (shortcut + h) / this, in the down and up blocks (`resnet_out_scale_factor`) and in the mid
    /// block (`mid_block_scale_factor`).
    public var resnetOutputScale: Float = 1
    public var midBlockOutputScale: Float = 1
    /// Width of the projected text context every attention layer sees (D).
    public var crossAttentionDim: Int
    /// Width of the raw text encoder states (E, 4096 for T5-XXL).
    public var encoderHidDim: Int
    /// Channels per attention head in the UNet's blocks.
    public var attentionHeadDim = 64
    /// Heads of the text pooling attention.
    public var poolingHeads = 64
    public var normGroups = 32
    public var normEpsilon: Float = 1e-5
    /// Per down block: true for `SimpleCrossAttnDownBlock2D`, false for `ResnetDownsampleBlock2D`.
    public var downBlockHasAttention: [Bool]
    /// Per up block: true for `SimpleCrossAttnUpBlock2D`, false for `ResnetUpsampleBlock2D`.
    public var upBlockHasAttention: [Bool]

    /// Channels of an image (3): the network predicts ε and the variance for each.
    public var imageChannels: Int { outChannels / 2 }
    /// True for a stage II (super-resolution) UNet: its input is [x_t, upscaled image].
    public var isSuperResolution: Bool { inChannels == 2 * imageChannels }

    public init(blockOutChannels: [Int], crossAttentionDim: Int, encoderHidDim: Int,
                downBlockHasAttention: [Bool], upBlockHasAttention: [Bool], layersPerBlock: Int = 3) {
        self.blockOutChannels = blockOutChannels
        self.layersPerBlock = Array(repeating: layersPerBlock, count: blockOutChannels.count)
        self.timeEmbeddingDim = 4 * blockOutChannels[0]
        self.crossAttentionDim = crossAttentionDim
        self.encoderHidDim = encoderHidDim
        self.downBlockHasAttention = downBlockHasAttention
        self.upBlockHasAttention = upBlockHasAttention
    }

    /// Reads and validates `path`; every problem names its key.
    public static func load(path: String) throws -> IFUNetConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelError.badConfig(path: path, key: nil, reason: "cannot read the file")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelError.badConfig(path: path, key: nil, reason: "not a JSON object")
        }
        return try IFUNetConfig(object: object, path: path)
    }

    init(object o: [String: Any], path: String) throws {
        func fail(_ key: String, _ reason: String) -> ModelError { .badConfig(path: path, key: key, reason: reason) }
        /// JSON true/false arrive as NSNumber too; their Objective-C type code is "c".
        func isBoolean(_ n: NSNumber) -> Bool { String(cString: n.objCType) == "c" }
        /// A JSON value in one canonical spelling: null, true/false, a number as %g, or the string itself.
        func canonical(_ raw: Any?) -> String {
            switch raw {
            case nil, is NSNull: return "null"
            case let n as NSNumber: return isBoolean(n) ? (n.boolValue ? "true" : "false") : String(format: "%g", n.doubleValue)
            case let s as String: return s
            case let other?: return "\(other)"
            }
        }
        func int(_ key: String, default value: Int? = nil) throws -> Int {
            guard let raw = o[key], !(raw is NSNull) else {
                if let value { return value }
                throw fail(key, "missing")
            }
            guard let n = raw as? NSNumber, !isBoolean(n), n.doubleValue == n.doubleValue.rounded() else {
                throw fail(key, "must be an integer, got \(raw)")
            }
            return n.intValue
        }
        func ints(_ key: String) throws -> [Int] {
            guard let raw = o[key] as? [Any], !raw.isEmpty,
                  let values = raw.map({ $0 as? NSNumber }) as? [NSNumber] else { throw fail(key, "must be a non-empty list of integers") }
            return values.map(\.intValue)
        }
        func strings(_ key: String) throws -> [String] {
            guard let raw = o[key] as? [String] else { throw fail(key, "must be a list of block type names") }
            return raw
        }
        /// A key whose value (in canonical spelling) must be one of `allowed`; an absent key passes when `absentOK`.
        func require(_ key: String, _ allowed: [String], absentOK: Bool = true) throws {
            if o[key] == nil, absentOK { return }
            let value = canonical(o[key])
            if !allowed.contains(value) {
                throw fail(key, "Darkroom implements DeepFloyd IF with \(allowed.joined(separator: " or ")), got \(value)")
            }
        }

        try require("act_fn", ["gelu"])
        try require("addition_embed_type", ["text"], absentOK: false)
        try require("encoder_hid_dim_type", ["text_proj"], absentOK: false)
        try require("resnet_time_scale_shift", ["scale_shift"], absentOK: false)
        try require("time_embedding_type", ["positional"])
        try require("flip_sin_to_cos", ["true"])
        try require("freq_shift", ["0"])
        try require("cross_attention_norm", ["group_norm"], absentOK: false)
        try require("only_cross_attention", ["false"])
        try require("mid_block_only_cross_attention", ["null", "false"])
        try require("mid_block_type", ["UNetMidBlock2DSimpleCrossAttn"])
        try require("resnet_skip_time_act", ["false", "true"])
        try require("class_embed_type", ["null", "timestep"])
        try require("time_embedding_act_fn", ["null", "gelu"])
        try require("center_input_sample", ["false"])
        try require("conv_in_kernel", ["3"])
        try require("conv_out_kernel", ["3"])
        for key in ["num_class_embeds", "timestep_post_act",
                    "time_cond_proj_dim", "addition_time_embed_dim", "projection_class_embeddings_input_dim", "num_attention_heads"] {
            try require(key, ["null"])
        }
        try require("dual_cross_attention", ["false"])
        try require("class_embeddings_concat", ["false"])
        try require("attention_type", ["default"])

        /// A positive finite scale factor (default 1).
        func scale(_ key: String) throws -> Float {
            guard let raw = o[key], !(raw is NSNull) else { return 1 }
            guard let n = raw as? NSNumber, !isBoolean(n), n.doubleValue.isFinite, n.doubleValue > 0 else {
                throw fail(key, "must be a positive number, got \(raw)")
            }
            return n.floatValue
        }

        inChannels = try int("in_channels", default: 3)
        outChannels = try int("out_channels", default: 6)
        guard outChannels > 0, outChannels % 2 == 0 else { throw fail("out_channels", "must be twice the image channels (ε and variance), got \(outChannels)") }
        guard inChannels == outChannels / 2 || inChannels == outChannels else {
            throw fail("in_channels", "must be \(outChannels / 2) (stage I: the noisy image) or \(outChannels) (stage II: the noisy image and the upscaled one), got \(inChannels)")
        }
        sampleSize = try int("sample_size", default: 64)
        blockOutChannels = try ints("block_out_channels")
        if o["layers_per_block"] is [Any] {
            layersPerBlock = try ints("layers_per_block")
            guard layersPerBlock.count == blockOutChannels.count else {
                throw fail("layers_per_block", "needs one count per block_out_channels entry (\(blockOutChannels.count)), got \(layersPerBlock.count)")
            }
        } else {
            layersPerBlock = Array(repeating: try int("layers_per_block", default: 2), count: blockOutChannels.count)
        }
        timeEmbeddingDim = try int("time_embedding_dim", default: 4 * blockOutChannels[0])
        hasClassEmbedding = canonical(o["class_embed_type"]) == "timestep"
        timeEmbeddingActivation = canonical(o["time_embedding_act_fn"]) == "gelu"
        resnetSkipTimeActivation = canonical(o["resnet_skip_time_act"]) == "true"
        resnetOutputScale = try scale("resnet_out_scale_factor")
        midBlockOutputScale = try scale("mid_block_scale_factor")
        let activations = (timeEmbeddingActivation ? 1 : 0) + (resnetSkipTimeActivation ? 0 : 1)
        guard activations == 1 else {
            throw fail("resnet_skip_time_act", "IF applies GELU to the time embedding once (time_embedding_act_fn \"gelu\" with resnet_skip_time_act true, or neither); this config applies it \(activations) times")
        }
        crossAttentionDim = try int("cross_attention_dim")
        encoderHidDim = try int("encoder_hid_dim")
        normGroups = try int("norm_num_groups", default: 32)
        poolingHeads = try int("addition_embed_type_num_heads", default: 64)
        if let eps = o["norm_eps"] as? NSNumber { normEpsilon = eps.floatValue }
        if let list = o["attention_head_dim"] as? [NSNumber] {
            guard Set(list.map(\.intValue)).count == 1 else { throw fail("attention_head_dim", "one head width for every block is supported, got \(list)") }
            attentionHeadDim = list[0].intValue
        } else {
            attentionHeadDim = try int("attention_head_dim", default: 8)
        }

        let down = try strings("down_block_types"), up = try strings("up_block_types")
        guard down.count == blockOutChannels.count else { throw fail("down_block_types", "needs one type per block_out_channels entry (\(blockOutChannels.count))") }
        guard up.count == blockOutChannels.count else { throw fail("up_block_types", "needs one type per block_out_channels entry (\(blockOutChannels.count))") }
        downBlockHasAttention = try down.map { name in
            switch name {
            case "SimpleCrossAttnDownBlock2D": return true
            case "ResnetDownsampleBlock2D": return false
            default: throw fail("down_block_types", "unsupported block '\(name)' (IF uses ResnetDownsampleBlock2D and SimpleCrossAttnDownBlock2D)")
            }
        }
        upBlockHasAttention = try up.map { name in
            switch name {
            case "SimpleCrossAttnUpBlock2D": return true
            case "ResnetUpsampleBlock2D": return false
            default: throw fail("up_block_types", "unsupported block '\(name)' (IF uses SimpleCrossAttnUpBlock2D and ResnetUpsampleBlock2D)")
            }
        }

        guard inChannels > 0 else { throw fail("in_channels", "must be positive") }
        guard layersPerBlock.allSatisfy({ $0 > 0 }) else { throw fail("layers_per_block", "must be positive, got \(layersPerBlock)") }
        guard timeEmbeddingDim > 0 else { throw fail("time_embedding_dim", "must be positive, got \(timeEmbeddingDim)") }
        guard normGroups > 0 else { throw fail("norm_num_groups", "must be positive") }
        guard attentionHeadDim > 0 else { throw fail("attention_head_dim", "must be positive") }
        for c in blockOutChannels where c <= 0 || c % normGroups != 0 {
            throw fail("block_out_channels", "every width must be a positive multiple of norm_num_groups (\(normGroups)), got \(c)")
        }
        // Widths that attention splits into heads: the levels with attention and the mid block's (IF-II-L's first,
        // 160, has none).
        let attended = blockOutChannels.indices.filter { downBlockHasAttention[$0] || upBlockHasAttention[blockOutChannels.count - 1 - $0] }
        for c in (attended.map { blockOutChannels[$0] } + [blockOutChannels.last!]) where c % attentionHeadDim != 0 {
            throw fail("block_out_channels", "the widths of levels with attention must be multiples of attention_head_dim (\(attentionHeadDim)), got \(c)")
        }
        guard crossAttentionDim > 0, crossAttentionDim % 32 == 0 else {
            throw fail("cross_attention_dim", "must be a positive multiple of 32 (the groups of every attention's norm_cross), got \(crossAttentionDim)")
        }
        guard encoderHidDim > 0, poolingHeads > 0, encoderHidDim % poolingHeads == 0 else {
            throw fail("addition_embed_type_num_heads", "must divide encoder_hid_dim (\(encoderHidDim)), got \(poolingHeads)")
        }
        guard blockOutChannels[0] % 2 == 0 else { throw fail("block_out_channels", "the first width must be even (sinusoidal time embedding)") }
        let factor = 1 << (blockOutChannels.count - 1)
        guard sampleSize > 0, sampleSize % factor == 0 else { throw fail("sample_size", "must be a positive multiple of \(factor)") }
    }

    /// 2^(blocks − 1): image sides must be multiples of this.
    public var sizeMultiple: Int { 1 << (blockOutChannels.count - 1) }
}
