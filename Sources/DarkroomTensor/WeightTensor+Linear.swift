import CBLAS
import DarkroomSupport

extension WeightTensor {
    /// Rows of a 16-bit weight widened per block in `applyLinear`: about 4 MB of Float32, which stays in this
    /// machine's caches while BLAS packs it.
    static let linearBlockFloats = 1 << 20

    /// `out[rows, O] = x[rows, I] · Wᵀ` for this weight W [O, I] (plus `out` when `accumulate`), as `Linear` without bias.
    ///
    /// A Float32 weight goes to one `sgemm`. A 16-bit weight is widened block by block of its rows into each thread's
    /// scratch and multiplied at once, blocks spread over the engine's threads: its Float32 copy never exists whole,
    /// and a mapped file's pages are handed back as soon as their block is widened. Uses this thread's scratch buffer,
    /// so it must not run inside another weight's `withFloat`.
    public func applyLinear(_ x: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        precondition(shape.count == 2, "applyLinear needs a [out, in] weight, not \(shape)")
        let (outputs, inputs) = (shape[0], shape[1])
        guard rows > 0, outputs > 0 else { return }
        let beta: Float = accumulate ? 1 : 0
        switch storage {
        case .float(let w):
            sgemm(transposeB: true, m: rows, n: outputs, k: inputs, a: x, b: w.pointer, beta: beta, c: out)
        case .half(let p, _, let mapped, let format):
            _ = blasSingleThreaded
            let blockRows = max(8, min(outputs, WeightTensor.linearBlockFloats / max(inputs, 1)))
            let blocks = (outputs + blockRows - 1) / blockRows
            let multiply = { (block: Int) in
                let first = block * blockRows
                let n = min(blockRows, outputs - first)
                let scratch = ScratchBuffer.forCurrentThread(count: n * inputs)
                let source = p + first * inputs
                switch format {
                case .bf16: HalfPrecision.widenBFloat16(source, into: scratch.pointer, count: n * inputs)
                case .fp16: HalfPrecision.widenHalf(source, into: scratch.pointer, count: n * inputs)
                }
                if mapped { WeightTensor.releasePages(source, bytes: 2 * n * inputs) }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(n), Int32(inputs),
                            1, x, Int32(inputs), scratch.pointer, Int32(inputs), beta, out + first, Int32(outputs))
            }
            if blocks == 1 || isSerialThread || Engine.threads == 1 {
                for b in 0..<blocks { multiply(b) }
            } else {
                performConcurrently(blocks, multiply)
            }
        }
    }

    /// Copies rows `indices` of this [N, W] weight (an embedding table) into `out` [indices.count, W] as Float32,
    /// touching only those rows.
    public func gatherRows(_ indices: [Int], into out: UnsafeMutablePointer<Float>) {
        precondition(shape.count == 2)
        let width = shape[1]
        for (r, i) in indices.enumerated() {
            precondition(i >= 0 && i < shape[0], "row \(i) of a table of \(shape[0])")
            switch storage {
            case .float(let t): (out + r * width).update(from: t.pointer + i * width, count: width)
            case .half(let p, _, _, .bf16): HalfPrecision.widenBFloat16(p + i * width, into: out + r * width, count: width)
            case .half(let p, _, _, .fp16): HalfPrecision.widenHalf(p + i * width, into: out + r * width, count: width)
            }
        }
    }
}
