import DarkroomTensor

/// A linear layer's weight [out, in] and bias [out], as PyTorch stores them.
struct DenseLayer {
    let weight: Tensor
    let bias: Tensor
    var outputs: Int { weight.shape[0] }
    var inputs: Int { weight.shape[1] }

    init(_ r: WeightReader, _ prefix: String, _ inputs: Int, _ outputs: Int) {
        weight = r.take(prefix + "weight", [outputs, inputs])
        bias = r.take(prefix + "bias", [outputs])
    }

    /// y = x·Wᵀ + b over the last dimension of `x`.
    func callAsFunction(_ x: Tensor) throws -> Tensor { try Linear.forward(x, weight: weight, bias: bias) }

    /// Channel-major application: out [outputs, n] = W·x [inputs, n] + b (+ out when `accumulate`), row stride `ldc`.
    func applyColumns(_ x: UnsafePointer<Float>, n: Int, into out: UnsafeMutablePointer<Float>, ldc: Int? = nil,
                      accumulate: Bool = false) {
        let ld = ldc ?? n
        for o in 0..<outputs {
            let row = out + o * ld, b = bias.pointer[o]
            if accumulate { for i in 0..<n { row[i] += b } } else { row.update(repeating: b, count: n) }
        }
        sgemm(m: outputs, n: n, k: inputs, a: weight.pointer, b: x, beta: 1, c: out, ldc: ld)
    }
}

/// A GroupNorm or LayerNorm's affine parameters.
struct NormLayer {
    let weight: Tensor
    let bias: Tensor

    init(_ r: WeightReader, _ prefix: String, _ channels: Int) {
        weight = r.take(prefix + "weight", [channels])
        bias = r.take(prefix + "bias", [channels])
    }
}

/// A 3×3 (padding 1) or 1×1 convolution's weight and bias.
struct ConvLayer {
    let weight: Tensor
    let bias: Tensor
    let padding: Int

    init(_ r: WeightReader, _ prefix: String, _ inputs: Int, _ outputs: Int, kernel: Int) {
        weight = r.take(prefix + "weight", [outputs, inputs, kernel, kernel])
        bias = r.take(prefix + "bias", [outputs])
        padding = kernel / 2
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        try Conv2d.forward(x, weight: weight, bias: bias, stride: 1, padding: padding)
    }
}
