/// The 3×3, stride-1, padding-1 layers of `Conv2d`, run by whichever of Darkroom's own kernels and oneDNN's a
/// measurement chose for the shape (`ConvolutionChoice`).
extension Conv2d {
    /// Whether a layer is a 3×3 convolution with stride 1 and padding 1, the shape `ConvolutionChoice` decides for.
    static func isSame3x3(_ x: Tensor, weight: Tensor, stride: Int, padding: Int) -> Bool {
        x.rank == 4 && weight.rank == 4 && x.shape[1] == weight.shape[1] && weight.shape[2] == 3 && weight.shape[3] == 3
            && stride == 1 && padding == 1
    }

    static func choiceShape(_ x: Tensor, outputs: Int, bias: Bool) -> OneDNNConv3x3.Shape {
        OneDNNConv3x3.Shape(batch: x.shape[0], inputs: x.shape[1], outputs: outputs, height: x.shape[2], width: x.shape[3], bias: bias)
    }

    /// Darkroom's own kernel for a 3×3 stride-1 layer of these widths, as `ConvolutionChoice` names it: "direct"
    /// where the direct kernel suits them, else "im2col".
    public static func ownKernel3x3(inputs: Int, outputs: Int) -> String {
        DirectConv3x3.suits(inputs: inputs, outputs: outputs) ? "direct" : "im2col"
    }

    /// The forward pass of a 3×3 stride-1 layer by that own kernel.
    public static func ownForward3x3(_ x: Tensor, weight: Tensor, bias: Tensor?) throws -> Tensor {
        DirectConv3x3.suits(inputs: weight.shape[1], outputs: weight.shape[0])
            ? try DirectConv3x3.forward(x, weight: weight, bias: bias)
            : try forwardByColumns(x, weight: weight, bias: bias, stride: 1, padding: 1)
    }

    /// A 3×3, stride-1, padding-1 convolution of `x` with `weight` plus `bias`: oneDNN's kernel where it measured
    /// fastest for this shape, else `own`, Darkroom's kernel at the call site (named by `ownKernel`, e.g. "direct"
    /// or "winograd 4x4", so that call sites with different own kernels are measured apart). A half-precision
    /// weight is widened only when oneDNN runs.
    public static func forward3x3(_ x: Tensor, weight: WeightTensor, bias: Tensor?, ownKernel: String,
                                  own: () throws -> Tensor) throws -> Tensor {
        guard x.rank == 4, weight.shape.count == 4, weight.shape[1] == x.shape[1], weight.shape[2] == 3, weight.shape[3] == 3 else {
            throw TensorError.shapeMismatch("3x3 conv input \(x.shape) with weight \(weight.shape)")
        }
        if let bias, bias.count != weight.shape[0] {
            throw TensorError.shapeMismatch("conv2d bias \(bias.shape) for \(weight.shape[0]) output channels")
        }
        let shape = choiceShape(x, outputs: weight.shape[0], bias: bias != nil)
        func run(_ conv: OneDNNConv3x3) throws -> Tensor {
            let out = Tensor(uninitialized: [shape.batch, shape.outputs, shape.height, shape.width])
            try weight.withFloat { w in try conv.run(x.pointer, w.pointer, into: out.pointer, bias: bias?.pointer) }
            return out
        }
        let chosen = try ConvolutionChoice.convolution(for: .forward, shape: shape, own: ownKernel) { candidate in
            _ = try candidate.map(run) ?? own()
        }
        return try chosen.map(run) ?? own()
    }

    /// `backward` of a 3×3 stride-1 layer: each gradient by oneDNN where it measured fastest, else by the direct
    /// kernels (`direct`) or through columns.
    static func backward3x3(_ dy: Tensor, x: Tensor, weight: Tensor, weightGrad: Tensor, biasGrad: Tensor?,
                            inputGrad: Bool, direct: Bool) throws -> Tensor? {
        guard dy.shape == [x.shape[0], weight.shape[0], x.shape[2], x.shape[3]], weightGrad.shape == weight.shape else {
            throw TensorError.shapeMismatch("conv2d backward dy \(dy.shape) for x \(x.shape), weight \(weight.shape)")
        }
        let shape = choiceShape(x, outputs: weight.shape[0], bias: false)
        func byColumns(weightGrad: Tensor, inputGrad: Bool) throws -> Tensor? {
            try backwardByColumns(dy, x: x, weight: weight, stride: 1, padding: 1, weightGrad: weightGrad, biasGrad: nil, inputGrad: inputGrad)
        }
        let ownKernel = ownKernel3x3(inputs: weight.shape[1], outputs: weight.shape[0])
        let forWeights = try ConvolutionChoice.convolution(for: .weightGradient, shape: shape, own: ownKernel) { candidate in
            let scratch = Tensor(zeros: weight.shape)
            try withExtendedLifetime(scratch) {
                if let candidate { try candidate.run(x.pointer, dy.pointer, into: scratch.pointer) }
                else if direct { try DirectConv3x3.weightGradient(dy, x: x, into: scratch) }
                else { _ = try byColumns(weightGrad: scratch, inputGrad: false) }
            }
        }
        let forInput = !inputGrad ? nil : try ConvolutionChoice.convolution(for: .inputGradient, shape: shape, own: ownKernel) { candidate in
            if let candidate {
                let out = Tensor(uninitialized: x.shape)
                try withExtendedLifetime(out) { try candidate.run(dy.pointer, weight.pointer, into: out.pointer) }
            }
            else if direct { _ = try DirectConv3x3.inputGradient(dy, weight: weight) }
            else { _ = try byColumns(weightGrad: Tensor(zeros: weight.shape), inputGrad: true) }
        }
        if let biasGrad { try Reduction.addChannelSums(dy, into: biasGrad) }

        var dx: Tensor?
        let columnsForInput = inputGrad && forInput == nil && !direct
        if let forWeights {
            try forWeights.run(x.pointer, dy.pointer, into: weightGrad.pointer)
        } else if direct {
            try DirectConv3x3.weightGradient(dy, x: x, into: weightGrad)
        } else {
            // Columns give both gradients in one pass when both go that way.
            dx = try byColumns(weightGrad: weightGrad, inputGrad: columnsForInput)
            if columnsForInput { return dx }
        }
        guard inputGrad else { return nil }
        if let forInput {
            let out = Tensor(uninitialized: x.shape)
            try forInput.run(dy.pointer, weight.pointer, into: out.pointer)
            return out
        }
        if direct { return try DirectConv3x3.inputGradient(dy, weight: weight) }
        return try byColumns(weightGrad: Tensor(zeros: weight.shape), inputGrad: true)
    }
}
