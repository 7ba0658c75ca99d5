import Foundation
import DarkroomTensor

/// Conv2d or ConvTranspose2d, then BatchNorm2d (running statistics), then GELU, with the norm folded into the conv.
///
/// Folding: s = γ/√(var + ε), W' = W·s per output channel, b' = (b − mean)·s + β. One convolution (direct for 3×3
/// stride-1 layers where the CPU allows, with W' packed once; else GEMM) and one bias + GELU pass remain.
struct ConvNormGELU {
    enum Kind {
        case conv(stride: Int, padding: Int)
        case transposed(stride: Int, padding: Int)
    }

    let kind: Kind
    let weight: Tensor
    let bias: Tensor
    /// The folded weight packed once for the direct kernel, when the layer is a 3×3 stride-1 conv it takes.
    let direct: DirectConv3x3.PackedWeights?

    init(_ r: WeightReader, _ prefix: String, _ i: Int, _ o: Int, kind: Kind, kernel: Int) {
        self.kind = kind
        let wShape: [Int]
        switch kind {
        case .conv: wShape = [o, i, kernel, kernel]
        case .transposed: wShape = [i, o, kernel, kernel]
        }
        let w = r.take(prefix + "conv.weight", wShape)
        let b = r.take(prefix + "conv.bias", [o])
        let gamma = r.take(prefix + "norm.weight", [o])
        let beta = r.take(prefix + "norm.bias", [o])
        let mean = r.take(prefix + "norm.running_mean", [o])
        let variance = r.take(prefix + "norm.running_var", [o])
        let folded = w.copy()
        let foldedBias = Tensor(uninitialized: [o])
        let taps = kernel * kernel
        for oc in 0..<o {
            let s = gamma.pointer[oc] / sqrtf(variance.pointer[oc] + 1e-5)
            foldedBias.pointer[oc] = (b.pointer[oc] - mean.pointer[oc]) * s + beta.pointer[oc]
            switch kind {
            case .conv:
                let p = folded.pointer + oc * i * taps
                for j in 0..<(i * taps) { p[j] *= s }
            case .transposed:
                for ic in 0..<i {
                    let p = folded.pointer + (ic * o + oc) * taps
                    for j in 0..<taps { p[j] *= s }
                }
            }
        }
        weight = folded
        bias = foldedBias
        if case .conv(1, 1) = kind, kernel == 3, DirectConv3x3.suits(inputs: i, outputs: o) {
            direct = try? DirectConv3x3.PackedWeights(folded)
        } else {
            direct = nil
        }
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        let y: Tensor
        switch kind {
        case .conv(let stride, let padding):
            if let direct {
                // The packed weights are Darkroom's own kernel; oneDNN takes the layer where it measured faster.
                y = try Conv2d.forward3x3(x, weight: WeightTensor(weight), bias: nil, ownKernel: "direct, packed once") {
                    try DirectConv3x3.forward(x, packed: direct, bias: nil)
                }
            } else {
                y = try Conv2d.forward(x, weight: weight, bias: nil, stride: stride, padding: padding)
            }
        case .transposed(let stride, let padding):
            y = try ConvTranspose2d.forward(x, weight: weight, bias: nil, stride: stride, padding: padding)
        }
        try Activation.biasGELUInPlace(y, bias: bias)
        return y
    }
}

/// Conv(i,o) then Conv(o,o): `first.*`, `second.*`.
struct ConvBlock {
    let first: ConvNormGELU
    let second: ConvNormGELU

    init(_ r: WeightReader, _ prefix: String, _ i: Int, _ o: Int) {
        first = ConvNormGELU(r, prefix + "first.", i, o, kind: .conv(stride: 1, padding: 1), kernel: 3)
        second = ConvNormGELU(r, prefix + "second.", o, o, kind: .conv(stride: 1, padding: 1), kernel: 3)
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor { try second(first(x)) }
}

/// A resampling Conv (stride-2 conv down, or 4×4 transposed conv up) then a ConvBlock: `down.*`/`up.*`, `block.*`.
struct ResampleBlock {
    let resample: ConvNormGELU
    let block: ConvBlock

    init(down r: WeightReader, _ prefix: String, _ i: Int, _ o: Int) {
        resample = ConvNormGELU(r, prefix + "down.", i, o, kind: .conv(stride: 2, padding: 1), kernel: 3)
        block = ConvBlock(r, prefix + "block.", o, o)
    }

    init(up r: WeightReader, _ prefix: String, _ i: Int, _ o: Int) {
        resample = ConvNormGELU(r, prefix + "up.", i, o, kind: .transposed(stride: 2, padding: 1), kernel: 4)
        block = ConvBlock(r, prefix + "block.", o, o)
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor { try block(resample(x)) }
}

/// Linear(i,o) → GELU → Linear(o,o): `fc1.*`, `fc2.*`.
struct FCBlock {
    let w1, b1, w2, b2: Tensor

    init(_ r: WeightReader, _ prefix: String, _ i: Int, _ o: Int) {
        w1 = r.take(prefix + "fc1.weight", [o, i])
        b1 = r.take(prefix + "fc1.bias", [o])
        w2 = r.take(prefix + "fc2.weight", [o, o])
        b2 = r.take(prefix + "fc2.bias", [o])
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        let h = try Linear.forward(x, weight: w1, bias: b1)
        Activation.geluInPlace(h)
        return try Linear.forward(h, weight: w2, bias: b2)
    }
}
