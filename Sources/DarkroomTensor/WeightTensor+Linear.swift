extension WeightTensor {
    /// `out[rows, O] = x[rows, I] · Wᵀ` for this weight W [O, I] (plus `out` when `accumulate`), as `Linear` without bias.
    ///
    /// A Float32 weight goes to one `sgemm`. A 16-bit weight goes to `HalfGEMM`, which widens it as it multiplies
    /// (its Float32 copy never exists whole); a mapped file's pages are then handed back. Uses the threads' scratch
    /// buffers, so it must not run inside another weight's `withFloat`.
    public func applyLinear(_ x: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        precondition(shape.count == 2, "applyLinear needs a [out, in] weight, not \(shape)")
        let (outputs, inputs) = (shape[0], shape[1])
        guard rows > 0, outputs > 0 else { return }
        let beta: Float = accumulate ? 1 : 0
        switch storage {
        case .float(let w):
            sgemm(transposeB: true, m: rows, n: outputs, k: inputs, a: x, b: w.pointer, beta: beta, c: out)
        case .half(let p, _, let mapped, let format):
            HalfGEMM.multiply(x: x, rows: rows, weight: p, format: format, outputs: outputs, inputs: inputs, into: out, accumulate: accumulate)
            if mapped { WeightTensor.releasePages(p, bytes: 2 * count) }
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
