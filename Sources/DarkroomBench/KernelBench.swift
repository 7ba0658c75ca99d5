import DarkroomTensor
import Foundation

/// The small UNet's convolution shapes through each of the engine's methods, in direct-convolution GFLOP/s (so that a
/// Winograd figure above sgemm's peak means it does fewer multiplies than the direct convolution counts).
extension Benchmarks {
    /// One shape, one method: milliseconds per call and direct-equivalent GFLOP/s.
    public struct KernelTiming {
        public let layer: String
        public let method: String
        public let milliseconds: Double
        public let gflops: Double
    }

    /// Times stride-1 3×3 convolutions C→C at S×S for a batch: by default those of a D-wide small UNet (D at 28² and
    /// 14², 2D at 7²), or the (C, S) pairs of `shapes`.
    public static func convKernels(hidden d: Int, batch: Int, seconds: Double, shapes: [(Int, Int)] = []) throws -> [KernelTiming] {
        var rng = RandomSource(seed: 4)
        var rows: [KernelTiming] = []
        for (channels, side) in shapes.isEmpty ? [(d, 28), (d, 14), (2 * d, 7)] : shapes {
            let x = rng.gaussian([batch, channels, side, side])
            let w = rng.gaussian([channels, channels, 3, 3]), b = rng.gaussian([channels])
            // Direct-convolution FLOPs of one pass; "both gradients" does two such passes.
            let flops = 2.0 * Double(channels * channels * 9 * side * side * batch)
            let layer = "3x3 \(channels)->\(channels) \(side)x\(side)"
            let methods: [(String, () throws -> Void)] = [
                ("im2col", { _ = try Conv2d.forwardByColumns(x, weight: w, bias: b, stride: 1, padding: 1) }),
                ("winograd F(2x2)", { _ = try WinogradConv3x3(weight: w, bias: b)(x) }),
                ("winograd F(4x4)", { _ = try Winograd4x4Conv3x3(weight: w, bias: b)(x) }),
                ("im2col, both gradients", { _ = try Conv2d.backwardByColumns(x, x: x, weight: w, stride: 1, padding: 1,
                                                                              weightGrad: Tensor(zeros: w.shape), biasGrad: nil) }),
            ] + (!DirectConv3x3.isAvailable ? [] : [
                ("direct AVX-512", { _ = try DirectConv3x3.forward(x, weight: w, bias: b) }),
                ("direct, input gradient", { _ = try DirectConv3x3.inputGradient(x, weight: w) }),
                ("direct, weight gradient", { try DirectConv3x3.weightGradient(x, x: x, into: Tensor(zeros: w.shape)) }),
            ])
            // oneDNN's kernels, forced (reorders from and to NCHW included, as the layers run them).
            let oneDNN: [(String, () throws -> Void)] = ConvolutionChoice.Backend.allCases.filter { $0 != .own && ConvolutionChoice.isAvailable($0) }
                .flatMap { backend -> [(String, () throws -> Void)] in
                    let name = backend == .oneDNNWinograd ? "oneDNN winograd" : "oneDNN direct"
                    return [(name, { try forcing(backend) { _ = try Conv2d.forward(x, weight: w, bias: b, stride: 1, padding: 1) } }),
                            (name + ", both gradients", { try forcing(backend) {
                                _ = try Conv2d.backward(x, x: x, weight: w, stride: 1, padding: 1, weightGrad: Tensor(zeros: w.shape), biasGrad: nil) } })]
                }
            for (method, body) in methods + oneDNN {
                let times = try measure(seconds: seconds, body).sorted()
                let median = times[times.count / 2]
                let passes = method.hasSuffix("both gradients") ? 2.0 : 1.0
                rows.append(KernelTiming(layer: layer, method: method, milliseconds: median * 1000, gflops: passes * flops / median / 1e9))
            }
        }
        return rows
    }

    /// Runs `body` with the 3×3 convolutions forced to `backend`, then restores the measured choice.
    static func forcing(_ backend: ConvolutionChoice.Backend, _ body: () throws -> Void) rethrows {
        let saved = ConvolutionChoice.override
        ConvolutionChoice.override = [backend]
        defer { ConvolutionChoice.override = saved }
        try body()
    }
}
