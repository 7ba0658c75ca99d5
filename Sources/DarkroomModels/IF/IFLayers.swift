import DarkroomTensor

/// A linear layer's weight [out, in] (kept in half precision when the file has it) and bias [out].
struct DenseLayer {
    let weight: WeightTensor
    let bias: Tensor
    var outputs: Int { weight.shape[0] }
    var inputs: Int { weight.shape[1] }

    init(_ r: WeightReader, _ prefix: String, _ inputs: Int, _ outputs: Int) {
        weight = r.takeWeight(prefix + "weight", [outputs, inputs])
        bias = r.take(prefix + "bias", [outputs])
    }

    /// y = x·Wᵀ + b over the last dimension of `x`.
    func callAsFunction(_ x: Tensor) throws -> Tensor { try weight.withFloat { try Linear.forward(x, weight: $0, bias: bias) } }

    /// Channel-major application: out [outputs, n] = W·x [inputs, n] + b (+ out when `accumulate`), row stride `ldc`.
    func applyColumns(_ x: UnsafePointer<Float>, n: Int, into out: UnsafeMutablePointer<Float>, ldc: Int? = nil,
                      accumulate: Bool = false) {
        let ld = ldc ?? n
        for o in 0..<outputs {
            let row = out + o * ld, b = bias.pointer[o]
            if accumulate { for i in 0..<n { row[i] += b } } else { row.update(repeating: b, count: n) }
        }
        weight.withFloat { w in sgemm(m: outputs, n: n, k: inputs, a: w.pointer, b: x, beta: 1, c: out, ldc: ld) }
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

/// A 3×3 (padding 1) or 1×1 convolution: through im2col and GEMM, or, for 3×3 kernels at high resolution, through
/// Winograd F(4×4, 3×3) with its weights transformed again at every call from the stored weight (4× fewer multiplies,
/// nothing kept). Kept F(2×2) weights were slower (IF-I-M at 64², 192 channels: 10.0 ms against 7.8 ms per conv) and
/// held 16/9 of the weights in Float32.
struct ConvLayer {
    /// The weight as stored (half precision when the file has it), for im2col and oneDNN; Winograd transforms it.
    let weight: WeightTensor
    let bias: Tensor
    let padding: Int
    let winograd: (any WinogradConvolution)?

    /// Convolutions whose planes have at least this many pixels at the model's sample size use Winograd: there the
    /// FLOPs are (64² and 32² hold ~3/4 of IF's) and the weights few; at 16² and 8² the opposite holds.
    static let winogradMinimumPlane = 32 * 32

    init(_ r: WeightReader, _ prefix: String, _ inputs: Int, _ outputs: Int, kernel: Int, plane: Int = 0) {
        let w = r.takeWeight(prefix + "weight", [outputs, inputs, kernel, kernel])
        bias = r.take(prefix + "bias", [outputs])
        padding = kernel / 2
        if kernel == 3 && plane >= ConvLayer.winogradMinimumPlane {
            winograd = try? Winograd4x4Conv3x3(streaming: w, bias: bias)
        } else {
            winograd = nil
        }
        weight = w
    }

    /// How this convolution runs, for profiles: Darkroom's own kernel at this layer (a 3×3 layer runs oneDNN's instead
    /// where it measured faster, `Conv2d.forward3x3`).
    var kind: String { winograd == nil ? (padding == 1 ? "conv 3x3 (im2col + GEMM or oneDNN)" : "conv 1x1") : "conv 3x3 (Winograd 4x4 or oneDNN)" }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        guard padding == 1 else {
            return try weight.withFloat { try Conv2d.forwardByColumns(x, weight: $0, bias: bias, stride: 1, padding: padding) }
        }
        if let winograd {
            return try Conv2d.forward3x3(x, weight: weight, bias: bias, ownKernel: "winograd 4x4") { try winograd(x) }
        }
        // Darkroom's own kernel here is Conv2d's (direct where the widths suit it, else im2col).
        return try Conv2d.forward3x3(x, weight: weight, bias: bias, ownKernel: Conv2d.ownKernel3x3(inputs: weight.shape[1], outputs: weight.shape[0])) {
            try weight.withFloat { try Conv2d.ownForward3x3(x, weight: $0, bias: bias) }
        }
    }
}
