import DarkroomSupport
import DarkroomTensorAVX512

/// 3×3 convolution with stride 1 and padding 1, computed directly in sixteen-lane registers (AVX-512 only): no im2col
/// columns, no GEMM packing. At the small UNet's widths (32–128 channels) and maps (28², 14², 7²) GEMM shapes are too
/// small for BLAS to reach its peak, and im2col's copies cost as much as the arithmetic.
///
/// Each input plane is copied once into a zero-bordered plane of row length W + 2, and outputs are computed at the
/// flattened positions y·(W + 2) + x of that layout, so every tap is one unaligned vector load at a fixed offset; the
/// two border columns per row are computed and dropped. Weights are packed as blocks of sixteen output channels
/// [block][Ci][9][16], zero-padded.
public enum DirectConv3x3 {
    /// True where the kernel runs (the CPU has AVX-512); callers fall back to im2col elsewhere.
    public static var isAvailable: Bool { CPUFeatures.hasAVX512 }

    static let block = AVX512DirectConv.outputsPerBlock

    /// Whether the direct kernel should take a layer of these widths: it is available and one output block's weights
    /// (Ci·9·16 floats) stay in L2. Wider layers do better through GEMM or Winograd.
    public static func suits(inputs: Int, outputs: Int) -> Bool {
        isAvailable && inputs <= 256 && outputs <= 256
    }

    /// A kernel's weights packed for the direct convolution: blocks of sixteen output channels [block][Ci][9][16],
    /// zero-padded. A layer whose weights do not change packs them once.
    // @unchecked Sendable: written once at packing and only read afterwards.
    public struct PackedWeights: @unchecked Sendable {
        let storage: TensorStorage
        public let outputs: Int
        public let inputs: Int

        /// Packs the kernel `value(o, i, tap)` (tap = 3·ky + kx).
        init(outputs co: Int, inputs ci: Int, value: (Int, Int, Int) -> Float) {
            (outputs, inputs) = (co, ci)
            let blocks = (co + block - 1) / block
            storage = TensorStorage(uninitializedCount: blocks * ci * 9 * block)
            for b in 0..<blocks {
                for c in 0..<ci {
                    for t in 0..<9 {
                        let dst = storage.pointer + ((b * ci + c) * 9 + t) * block
                        for j in 0..<block {
                            let o = b * block + j
                            dst[j] = o < co ? value(o, c, t) : 0
                        }
                    }
                }
            }
        }

        /// The weight [Co,Ci,3,3] of a convolution.
        public init(_ weight: Tensor) throws {
            guard weight.shape.count == 4, weight.shape[2] == 3, weight.shape[3] == 3 else {
                throw TensorError.shapeMismatch("direct 3x3 conv weight \(weight.shape)")
            }
            let (co, ci) = (weight.shape[0], weight.shape[1])
            let w = weight.pointer
            self.init(outputs: co, inputs: ci) { o, c, t in w[(o * ci + c) * 9 + t] }
        }
    }

    /// y = conv(x, weight) + bias for x [B,Ci,H,W], weight [Co,Ci,3,3].
    public static func forward(_ x: Tensor, weight: Tensor, bias: Tensor?) throws -> Tensor {
        try forward(x, packed: PackedWeights(weight), bias: bias)
    }

    /// y = conv(x, packed weights) + bias.
    public static func forward(_ x: Tensor, packed: PackedWeights, bias: Tensor?) throws -> Tensor {
        guard x.rank == 4, x.shape[1] == packed.inputs else {
            throw TensorError.shapeMismatch("direct 3x3 conv input \(x.shape) for \(packed.inputs) input channels")
        }
        return try convolve(x, packed: packed, bias: bias)
    }

    /// dL/dx of `forward` for dy [B,Co,H,W]: the convolution of dy with the weight flipped in space and with its
    /// channel axes swapped.
    public static func inputGradient(_ dy: Tensor, weight: Tensor) throws -> Tensor {
        guard dy.rank == 4, weight.shape.count == 4, weight.shape[0] == dy.shape[1], weight.shape[2] == 3, weight.shape[3] == 3 else {
            throw TensorError.shapeMismatch("direct 3x3 conv gradient \(dy.shape) with weight \(weight.shape)")
        }
        let (co, ci) = (weight.shape[0], weight.shape[1])
        let w = weight.pointer
        return try convolve(dy, packed: PackedWeights(outputs: ci, inputs: co) { c, o, t in w[(o * ci + c) * 9 + 8 - t] }, bias: nil)
    }

    /// Convolves `x` [B,I,H,W] with packed weights into [B,O,H,W], plus `bias`.
    static func convolve(_ x: Tensor, packed: PackedWeights, bias: Tensor?) throws -> Tensor {
        let (batch, ci, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let co = packed.outputs
        if let bias, bias.count != co { throw TensorError.shapeMismatch("conv bias \(bias.shape) for \(co) outputs") }
        let blocks = (co + block - 1) / block
        let g = Geometry(h: h, w: w)
        let (rowLength, positions, planeStride, offsets) = (g.rowLength, g.positions, g.planeStride, g.offsets)
        let out = Tensor(uninitialized: [batch, co, h, w])
        let (xp, op, bp, pp) = (x.pointer, out.pointer, bias?.pointer, packed.storage.pointer)
        func pad(_ s: Int, into padded: UnsafeMutablePointer<Float>) { g.pad(xp + s * ci * h * w, channels: ci, into: padded) }
        /// Output channels of block `b` for sample `s` at flattened positions `range`, cropped into `out`.
        func run(_ s: Int, _ b: Int, _ range: Range<Int>, padded: UnsafePointer<Float>, flat: UnsafeMutablePointer<Float>) {
            let count = min(block, co - b * block)
            offsets.withUnsafeBufferPointer { offs in
                AVX512DirectConv.block(input: padded, planeStride: planeStride, channels: ci, offsets: offs.baseAddress!, taps: 9,
                                       weights: pp + b * ci * 9 * block, outputs: count, positions: range, out: flat, outStride: positions)
            }
            for j in 0..<count {
                let o = b * block + j
                let bv = bp?[o] ?? 0
                let src = flat + j * positions
                let dst = op + (s * co + o) * h * w
                for y in 0..<h {
                    let start = y * rowLength
                    let lo = max(start, range.lowerBound) - start, hi = min(start + w, range.upperBound) - start
                    if lo >= hi { continue }
                    let line = src + start, target = dst + y * w
                    for xx in lo..<hi { target[xx] = line[xx] + bv }
                }
            }
        }

        if batch >= Engine.threads || isSerialThread {
            parallelRanges(batch, minimumChunk: 1) { samples in
                let padded = ScratchBuffer.forCurrentThread(count: ci * planeStride, slot: .directInput).pointer
                let flat = ScratchBuffer.forCurrentThread(count: block * positions, slot: .directOutput).pointer
                for s in samples {
                    pad(s, into: padded)
                    for b in 0..<blocks { run(s, b, 0..<positions, padded: padded, flat: flat) }
                }
            }
        } else {
            // One sample: split its output blocks and positions across threads, sharing the padded planes.
            let padded = TensorStorage(uninitializedCount: ci * planeStride)
            let flat = TensorStorage(uninitializedCount: blocks * block * positions)
            let chunks = max(1, min(Engine.threads, positions / block))
            let per = (positions / block + chunks - 1) / chunks * block
            for s in 0..<batch {
                pad(s, into: padded.pointer)
                parallelRanges(blocks * chunks, minimumChunk: 1) { tasks in
                    for task in tasks {
                        let (b, k) = (task / chunks, task % chunks)
                        guard k * per < positions else { continue }
                        let range = (k * per)..<min(positions, (k + 1) * per)
                        if !range.isEmpty { run(s, b, range, padded: padded.pointer, flat: flat.pointer + b * block * positions) }
                    }
                }
            }
        }
        return out
    }

    /// Adds dL/dW of `forward` into `weightGrad` [Co,Ci,3,3], for dy [B,Co,H,W] and the layer's input x [B,Ci,H,W].
    ///
    /// Samples are split across threads; each thread sums its samples into a gradient of its own, and the partial
    /// gradients are added at the end.
    public static func weightGradient(_ dy: Tensor, x: Tensor, into weightGrad: Tensor) throws {
        let (batch, ci, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let co = dy.shape[1]
        guard dy.shape == [batch, co, h, w], weightGrad.shape == [co, ci, 3, 3] else {
            throw TensorError.shapeMismatch("direct 3x3 weight gradient: dy \(dy.shape), x \(x.shape), grad \(weightGrad.shape)")
        }
        let g = Geometry(h: h, w: w)
        let size = co * ci * 9
        let parts = isSerialThread ? 1 : max(1, min(Engine.threads, batch))
        let partials = TensorStorage(uninitializedCount: parts * size)
        partials.pointer.update(repeating: 0, count: parts * size)
        let per = (batch + parts - 1) / parts
        let (xp, dp, pp) = (x.pointer, dy.pointer, partials.pointer)
        // Samples per kernel call: as many as keep their bordered inputs and flattened gradients within ~1 MB (L2).
        let (inputSample, dySample) = (ci * g.planeStride, co * g.positions)
        let group = max(1, min(per, (1 << 18) / (inputSample + dySample)))
        performConcurrently(parts) { part in
            let padded = ScratchBuffer.forCurrentThread(count: group * inputSample, slot: .directInput).pointer
            let flat = ScratchBuffer.forCurrentThread(count: group * dySample, slot: .directOutput).pointer
            guard part * per < batch else { return }
            let mine = (part * per)..<min(batch, (part + 1) * per)
            for first in stride(from: mine.lowerBound, to: mine.upperBound, by: group) {
                let count = min(group, mine.upperBound - first)
                for k in 0..<count {
                    g.pad(xp + (first + k) * ci * h * w, channels: ci, into: padded + k * inputSample)
                    g.flatten(dp + (first + k) * co * h * w, channels: co, into: flat + k * dySample)
                }
                g.offsets.withUnsafeBufferPointer { offs in
                    AVX512DirectConv.weightGradient(input: padded, planeStride: g.planeStride, channels: ci, offsets: offs.baseAddress!,
                                                    dy: flat, dyStride: g.positions, outputs: co, positions: g.positions,
                                                    samples: count, inputSample: inputSample, dySample: dySample, grad: pp + part * size)
                }
            }
        }
        for part in 0..<parts {
            let src = pp + part * size
            for i in 0..<size { weightGrad.pointer[i] += src[i] }
        }
    }

    /// The flattened layout of an H×W map: planes of rows W + 2 long with a zero border (input), and outputs or output
    /// gradients at positions y·(W + 2) + x, rounded up to whole vectors.
    struct Geometry {
        let h, w: Int
        let rowLength, positions, planeStride: Int
        /// Offset of tap 3·ky + kx from an output position in the bordered plane.
        let offsets: [Int]

        init(h: Int, w: Int) {
            (self.h, self.w) = (h, w)
            let row = w + 2
            rowLength = row
            positions = (h * row + block - 1) / block * block
            // The last vector of taps reads up to positions − 1 + 2·rowLength + 2.
            planeStride = ((h + 2) * row + 3 * block - 1) / block * block
            offsets = (0..<9).map { ($0 / 3) * row + $0 % 3 }
        }

        /// Copies `channels` planes H×W into bordered planes at `padded`.
        func pad(_ src: UnsafePointer<Float>, channels: Int, into padded: UnsafeMutablePointer<Float>) {
            for c in 0..<channels {
                let plane = padded + c * planeStride
                plane.update(repeating: 0, count: planeStride)
                let from = src + c * h * w
                for y in 0..<h { (plane + (y + 1) * rowLength + 1).update(from: from + y * w, count: w) }
            }
        }

        /// Copies `channels` planes H×W to flattened positions (the border columns and the tail are 0).
        func flatten(_ src: UnsafePointer<Float>, channels: Int, into flat: UnsafeMutablePointer<Float>) {
            for c in 0..<channels {
                let plane = flat + c * positions
                plane.update(repeating: 0, count: positions)
                let from = src + c * h * w
                for y in 0..<h { (plane + y * rowLength).update(from: from + y * w, count: w) }
            }
        }
    }
}
