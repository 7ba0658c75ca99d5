import DarkroomTensor

/// diffusers' `ResnetBlock2D` as IF configures it: GroupNorm+GELU, optional 2× average-pool or nearest resampling
/// of both paths, conv, scale-shift by the time embedding, GroupNorm, GELU, conv, residual (1×1 shortcut when the
/// width changes), divided by the block's output scale (stage II: √2).
struct IFResnetBlock {
    enum Resample { case none, down, up }

    let norm1, norm2: NormLayer
    let conv1, conv2: ConvLayer
    let timeProjection: DenseLayer
    let shortcut: ConvLayer?
    let resample: Resample
    let groups: Int
    let epsilon: Float
    let outputs: Int
    let outputScale: Float

    /// `side` is the block's input resolution at the model's sample size (it picks the convolution algorithm).
    init(_ r: WeightReader, _ prefix: String, _ inputs: Int, _ outputs: Int, config: IFUNetConfig, side: Int,
         resample: Resample = .none, outputScale: Float = 1) {
        let convSide = resample == .down ? side / 2 : resample == .up ? side * 2 : side
        norm1 = NormLayer(r, prefix + "norm1.", inputs)
        conv1 = ConvLayer(r, prefix + "conv1.", inputs, outputs, kernel: 3, plane: convSide * convSide)
        timeProjection = DenseLayer(r, prefix + "time_emb_proj.", config.timeEmbeddingDim, 2 * outputs)
        norm2 = NormLayer(r, prefix + "norm2.", outputs)
        conv2 = ConvLayer(r, prefix + "conv2.", outputs, outputs, kernel: 3, plane: convSide * convSide)
        shortcut = inputs != outputs ? ConvLayer(r, prefix + "conv_shortcut.", inputs, outputs, kernel: 1) : nil
        self.resample = resample
        self.outputs = outputs
        self.outputScale = outputScale
        groups = config.normGroups
        epsilon = config.normEpsilon
    }

    /// `x` [B,Ci,H,W]; `activeEmbedding` is GELU(emb) [B,T], shared by every resnet of a forward pass (IF applies GELU
    /// once, in the model or in each resnet: the same value either way).
    func callAsFunction(_ x: Tensor, activeEmbedding: Tensor, profiler: LayerProfiler? = nil) throws -> Tensor {
        var h = Tensor(uninitialized: x.shape)
        try profiled(profiler, "group norm + GELU") {
            try Normalization.groupNorm(x, into: h, groups: groups, weight: norm1.weight, bias: norm1.bias, epsilon: epsilon,
                                        epilogue: .init(gelu: true))
        }
        var skip = x
        if resample != .none {
            try profiled(profiler, "resample (pool, nearest)") {
                if resample == .down {
                    h = try Pooling.averagePool(h, kernel: 2)
                    skip = try Pooling.averagePool(skip, kernel: 2)
                } else {
                    h = try Pooling.upsampleNearest(h, factor: 2)
                    skip = try Pooling.upsampleNearest(skip, factor: 2)
                }
            }
        }
        h = try profiled(profiler, conv1.kind, flops: convolutionFlops(h, outputs: outputs, kernel: 3)) { try conv1(h) }
        try profiled(profiler, "group norm + FiLM + GELU") {
            let film = try timeProjection(activeEmbedding)   // [B, 2·Cout]: scale, then shift
            try Normalization.groupNorm(h, into: h, groups: groups, weight: norm2.weight, bias: norm2.bias, epsilon: epsilon,
                                        epilogue: .init(scale: film.pointer, shift: film.pointer + outputs, stride: 2 * outputs, gelu: true))
        }
        h = try profiled(profiler, conv2.kind, flops: convolutionFlops(h, outputs: outputs, kernel: 3)) { try conv2(h) }
        if let shortcut { skip = try profiled(profiler, "conv 1x1 shortcut", flops: convolutionFlops(skip, outputs: outputs, kernel: 1)) { try shortcut(skip) } }
        profiled(profiler, "residual add") {
            let hp = h.pointer, sp = skip.pointer, scale = outputScale
            if scale == 1 {
                parallelRanges(h.count) { range in for i in range { hp[i] += sp[i] } }
            } else {
                parallelRanges(h.count) { range in for i in range { hp[i] = (sp[i] + hp[i]) / scale } }
            }
        }
        return h
    }
}
