import Foundation
import DarkroomTensor

/// The small time- and class-conditioned UNet of `../shared/spec/tiny-unet.md`, for inference.
///
/// Tensor names and layouts are PyTorch's, so a checkpoint folder (`config.json` + `model.safetensors`) written
/// from a PyTorch module of the spec loads as is.
// @unchecked Sendable: the weights are loaded once and only read by forward passes, which allocate their own outputs.
public final class TinyUNet: @unchecked Sendable {
    /// The checkpoint's configuration.
    public let config: TinyUNetConfig

    private let inBlock: ConvBlock
    private let down1, down2: ResampleBlock
    private let unflatten: ConvNormGELU
    private let up1, up2: ResampleBlock
    private let outBlock: ConvBlock
    private let outWeight, outBias: Tensor
    private let tEmbed1, tEmbed2: FCBlock
    private let cEmbed1, cEmbed2: FCBlock?

    /// Builds the network, taking every tensor from `reader` (call `reader.finish()` afterwards to check the fit).
    public init(config: TinyUNetConfig, reader r: WeightReader) {
        self.config = config
        let (c, d, k) = (config.channels, config.hidden, config.classCount)
        inBlock = ConvBlock(r, "in_block.", c, d)
        down1 = ResampleBlock(down: r, "down1.", d, d)
        down2 = ResampleBlock(down: r, "down2.", d, 2 * d)
        unflatten = ConvNormGELU(r, "unflatten.", 2 * d, 2 * d, kind: .transposed(stride: 7, padding: 0), kernel: 7)
        up1 = ResampleBlock(up: r, "up1.", 4 * d, d)
        up2 = ResampleBlock(up: r, "up2.", 2 * d, d)
        outBlock = ConvBlock(r, "out_block.", 2 * d, d)
        outWeight = r.take("out_conv.weight", [c, d, 3, 3])
        outBias = r.take("out_conv.bias", [c])
        tEmbed1 = FCBlock(r, "t_embed1.", 1, 2 * d)
        tEmbed2 = FCBlock(r, "t_embed2.", 1, d)
        cEmbed1 = k > 0 ? FCBlock(r, "c_embed1.", k, 2 * d) : nil
        cEmbed2 = k > 0 ? FCBlock(r, "c_embed2.", k, d) : nil
    }

    /// Loads a checkpoint folder holding `config.json` and `model.safetensors`.
    public convenience init(checkpoint folder: String) throws {
        let config = try TinyUNetConfig.load(path: (folder as NSString).appendingPathComponent("config.json"))
        let file = try SafeTensorsFile(path: (folder as NSString).appendingPathComponent("model.safetensors"))
        let reader = WeightReader(file: file)
        self.init(config: config, reader: reader)
        try reader.finish()
    }

    /// A network with seeded random weights (benchmarks, and tests before a trained model exists).
    public convenience init(config: TinyUNetConfig, randomSeed: UInt64) {
        self.init(config: config, reader: WeightReader(randomSeed: randomSeed))
    }

    /// Runs the network: `x` [B,C,28,28], `t` [B,1] in [0,1], `c` [B,K] one-hot or zeros (nil: no class).
    public func forward(_ x: Tensor, t: Tensor, c: Tensor? = nil) throws -> Tensor {
        let (channels, k, size) = (config.channels, config.classCount, config.imageSize)
        guard x.rank == 4, x.shape[1] == channels, x.shape[2] == size, x.shape[3] == size else {
            throw ModelError.badInput("x must be [B,\(channels),\(size),\(size)], got \(x.shape)")
        }
        let batch = x.shape[0]
        guard t.shape == [batch, 1] else { throw ModelError.badInput("t must be [\(batch),1], got \(t.shape)") }
        if let c, k == 0 { throw ModelError.badInput("this model has no classes, but c \(c.shape) was given") }
        if let c, c.shape != [batch, k] { throw ModelError.badInput("c must be [\(batch),\(k)], got \(c.shape)") }
        if batch == 1 || Engine.threads == 1 { return try run(x, t: t, c: c) }
        let out = Tensor(uninitialized: [batch, channels, size, size])
        let per = channels * size * size
        try Engine.shards(batch) { range in
            let y = try run(x.slice(batch: range), t: t.slice(batch: range), c: c?.slice(batch: range))
            (out.pointer + range.lowerBound * per).update(from: y.pointer, count: y.count)
        }
        return out
    }

    /// The network on already validated inputs, on the calling thread's share of the engine.
    private func run(_ x: Tensor, t: Tensor, c: Tensor?) throws -> Tensor {
        let (batch, k) = (x.shape[0], config.classCount)

        let x0 = try inBlock(x)
        let x1 = try down1(x0)
        let x2 = try down2(x1)
        let pooled = try Pooling.averagePool(x2, kernel: 7)
        Activation.geluInPlace(pooled)
        let z = try unflatten(pooled)
        let t1 = try tEmbed1(t), t2 = try tEmbed2(t)
        var c1: Tensor?, c2: Tensor?
        if let cEmbed1, let cEmbed2 {
            let classes = c ?? Tensor(zeros: [batch, k])
            c1 = try cEmbed1(classes)
            c2 = try cEmbed2(classes)
        }
        try Elementwise.modulateInPlace(z, scale: c1, shift: t1)
        let u1 = try up1(Elementwise.concatChannels([z, x2]))
        try Elementwise.modulateInPlace(u1, scale: c2, shift: t2)
        let u2 = try up2(Elementwise.concatChannels([u1, x1]))
        let u3 = try outBlock(Elementwise.concatChannels([u2, x0]))
        return try Conv2d.forward(u3, weight: outWeight, bias: outBias, stride: 1, padding: 1)
    }

    /// Multiply–add count of one forward pass per sample, counting 2 FLOPs per MAC (convolutions and linears).
    public var flopsPerSample: Double {
        let (c, d) = (Double(config.channels), Double(config.hidden))
        let p28 = 784.0, p14 = 196.0, p7 = 49.0
        var macs = 0.0
        macs += 9 * (c * d + d * d) * p28                      // in_block
        macs += 9 * d * d * p14 + 2 * 9 * d * d * p14           // down1
        macs += 9 * d * 2 * d * p7 + 2 * 9 * 4 * d * d * p7     // down2
        macs += 49 * 4 * d * d                                  // unflatten (1×1 → 7×7)
        macs += 16 * 4 * d * d * p7 + 2 * 9 * d * d * p14       // up1 (transposed conv: every input pixel × 16 taps)
        macs += 16 * 2 * d * d * p14 + 2 * 9 * d * d * p28      // up2
        macs += 9 * (2 * d * d + d * d) * p28 + 9 * d * c * p28 // out_block, out_conv
        return 2 * macs
    }
}
