import DarkroomModels
import DarkroomTensor

/// The small UNet of the spec with a training-mode forward pass and a hand-written backward pass.
///
/// Parameter and buffer names are the PyTorch state-dict names, so `stateDict()` saves a checkpoint that both
/// `TinyUNet` and PyTorch load.
public final class TrainableUNet {
    public let config: TinyUNetConfig
    let inBlock, down1, down2, up1, up2, outBlock: TrainSequence
    let unflatten: TrainConv
    let outWeight, outBias: Parameter
    let tEmbed1, tEmbed2: TrainFC
    let cEmbed1, cEmbed2: TrainFC?

    // Values the backward pass needs.
    private var cache: (x0: Tensor, x1: Tensor, pooled: Tensor, z: Tensor, u1: Tensor, u3: Tensor, c1: Tensor?, c2: Tensor?)?

    init(config: TinyUNetConfig, source r: WeightReader) {
        self.config = config
        let (c, d, k) = (config.channels, config.hidden, config.classCount)
        inBlock = .block(r, "in_block.", c, d)
        down1 = .down(r, "down1.", d, d)
        down2 = .down(r, "down2.", d, 2 * d)
        unflatten = TrainConv(r, "unflatten.", 2 * d, 2 * d, kind: .transposed, kernel: 7, stride: 7, padding: 0)
        up1 = .up(r, "up1.", 4 * d, d)
        up2 = .up(r, "up2.", 2 * d, d)
        outBlock = .block(r, "out_block.", 2 * d, d)
        outWeight = Parameter("out_conv.weight", r.take("out_conv.weight", [c, d, 3, 3]).copy())
        outBias = Parameter("out_conv.bias", r.take("out_conv.bias", [c]).copy())
        tEmbed1 = TrainFC(r, "t_embed1.", 1, 2 * d)
        tEmbed2 = TrainFC(r, "t_embed2.", 1, d)
        cEmbed1 = k > 0 ? TrainFC(r, "c_embed1.", k, 2 * d) : nil
        cEmbed2 = k > 0 ? TrainFC(r, "c_embed2.", k, d) : nil
    }

    /// Continues from a checkpoint folder's `model.safetensors` (running statistics included).
    public convenience init(config: TinyUNetConfig, weights path: String) throws {
        let file = try SafeTensorsFile(path: path)
        let reader = WeightReader(file: file)
        self.init(config: config, source: reader)
        try reader.finish()
        for conv in convs {
            let name = conv.prefix + "norm.num_batches_tracked"
            if file.contains(name) { conv.batchesTracked = try file.int64Values(name).first ?? 0 }
        }
    }

    /// Fresh weights with PyTorch's default initialisation scheme (uniform ±1/√fan-in), from a seed.
    public convenience init(config: TinyUNetConfig, seed: UInt64) {
        self.init(config: config, source: WeightReader(randomSeed: seed))
    }

    var sequences: [TrainSequence] { [inBlock, down1, down2, up1, up2, outBlock] }
    var convs: [TrainConv] {
        sequences.flatMap(\.layers) + [unflatten]
    }
    var fcs: [TrainFC] { [tEmbed1, tEmbed2] + [cEmbed1, cEmbed2].compactMap { $0 } }

    /// Every trainable tensor.
    public var parameters: [Parameter] {
        convs.flatMap(\.parameters) + [outWeight, outBias] + fcs.flatMap(\.parameters)
    }

    /// Parameters and running statistics by PyTorch name (Float32), plus the `num_batches_tracked` counters.
    public func stateDict() -> (tensors: [String: Tensor], counters: [String: Int64]) {
        var tensors: [String: Tensor] = [:]
        for p in parameters { tensors[p.name] = p.value }
        var counters: [String: Int64] = [:]
        for conv in convs {
            for (name, t) in conv.buffers { tensors[name] = t }
            counters[conv.prefix + "norm.num_batches_tracked"] = conv.batchesTracked
        }
        return (tensors, counters)
    }

    /// Forward pass; in training mode BatchNorm uses batch statistics and the pass is remembered for `backward`.
    public func forward(_ x: Tensor, t: Tensor, c: Tensor?, training: Bool) throws -> Tensor {
        let batch = x.shape[0]
        let x0 = try inBlock.forward(x, training: training)
        let x1 = try down1.forward(x0, training: training)
        let x2 = try down2.forward(x1, training: training)
        let pooled = try Pooling.averagePool(x2, kernel: 7)
        let z = try unflatten.forward(Activation.gelu(pooled), training: training)
        let t1 = try tEmbed1.forward(t), t2 = try tEmbed2.forward(t)
        var c1: Tensor?, c2: Tensor?
        if let cEmbed1, let cEmbed2 {
            let classes = c ?? Tensor(zeros: [batch, config.classCount])
            c1 = try cEmbed1.forward(classes)
            c2 = try cEmbed2.forward(classes)
        }
        let zm = z.copy()
        try Elementwise.modulateInPlace(zm, scale: c1, shift: t1)
        let u1 = try up1.forward(Elementwise.concatChannels([zm, x2]), training: training)
        let um = u1.copy()
        try Elementwise.modulateInPlace(um, scale: c2, shift: t2)
        let u2 = try up2.forward(Elementwise.concatChannels([um, x1]), training: training)
        let u3 = try outBlock.forward(Elementwise.concatChannels([u2, x0]), training: training)
        if training { cache = (x0, x1, pooled, z, u1, u3, c1, c2) }
        return try Conv2d.forward(u3, weight: outWeight.value, bias: outBias.value, stride: 1, padding: 1)
    }

    /// Back-propagates dL/dout through the last training forward pass, adding into every parameter's gradient.
    public func backward(_ dy: Tensor) throws {
        guard let s = cache else { throw TrainingError.noForwardPass("TrainableUNet") }
        cache = nil
        let d = config.hidden
        let du3 = try Conv2d.backward(dy, x: s.u3, weight: outWeight.value, stride: 1, padding: 1,
                                      weightGrad: outWeight.grad, biasGrad: outBias.grad)!
        let (du2, dx0Skip) = try split(outBlock.backward(du3)!, d)
        let (dum, dx1Skip) = try split(up2.backward(du2)!, d)
        let du1 = try demodulate(dum, input: s.u1, scale: s.c2, scaleFC: cEmbed2, shiftFC: tEmbed2)
        let (dzm, dx2Skip) = try split(up1.backward(du1)!, 2 * d)
        let dz = try demodulate(dzm, input: s.z, scale: s.c1, scaleFC: cEmbed1, shiftFC: tEmbed1)
        let dg = try unflatten.backward(dz)!
        let dPooled = Activation.geluBackward(dg, input: s.pooled)
        let dx2 = try Elementwise.add(Pooling.averagePoolBackward(dPooled, inputShape: dx2Skip.shape, kernel: 7), dx2Skip)
        let dx1 = try Elementwise.add(down2.backward(dx2)!, dx1Skip)
        let dx0 = try Elementwise.add(down1.backward(dx1)!, dx0Skip)
        _ = try inBlock.backward(dx0, inputGrad: false)
    }

    /// Gradient through y = scale·x + shift (scale, shift per sample and channel): sends dscale and dshift into
    /// their embedding blocks and returns dx.
    private func demodulate(_ dy: Tensor, input x: Tensor, scale: Tensor?, scaleFC: TrainFC?, shiftFC: TrainFC) throws -> Tensor {
        try shiftFC.backward(Reduction.spatialSums(dy))
        guard let scale, let scaleFC else { return dy }
        try scaleFC.backward(Reduction.spatialSums(dy, weightedBy: x))
        let dx = dy.copy()
        try Elementwise.modulateInPlace(dx, scale: scale, shift: Tensor(zeros: scale.shape))
        return dx
    }

    /// Splits a channel concatenation's gradient into its first `channels` channels and the rest.
    private func split(_ g: Tensor, _ channels: Int) throws -> (Tensor, Tensor) {
        let (b, total) = (g.shape[0], g.shape[1])
        let plane = g.count / (b * total)
        let first = Tensor(uninitialized: [b, channels] + g.shape.dropFirst(2))
        let second = Tensor(uninitialized: [b, total - channels] + g.shape.dropFirst(2))
        for i in 0..<b {
            let src = g.pointer + i * total * plane
            (first.pointer + i * channels * plane).update(from: src, count: channels * plane)
            (second.pointer + i * (total - channels) * plane).update(from: src + channels * plane, count: (total - channels) * plane)
        }
        return (first, second)
    }

    /// Sets every gradient to zero.
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }
}
