/// Elementwise arithmetic with NumPy-style broadcasting, and channel concatenation.
public enum Elementwise {
    /// a + b, broadcasting size-1 dimensions (shapes aligned at the right).
    public static func add(_ a: Tensor, _ b: Tensor) throws -> Tensor { try broadcast(a, b, +) }
    /// a − b, broadcasting.
    public static func subtract(_ a: Tensor, _ b: Tensor) throws -> Tensor { try broadcast(a, b, -) }
    /// a · b, broadcasting.
    public static func multiply(_ a: Tensor, _ b: Tensor) throws -> Tensor { try broadcast(a, b, *) }

    /// Shape that `a` and `b` broadcast to.
    public static func broadcastShape(_ a: [Int], _ b: [Int]) throws -> [Int] {
        let rank = max(a.count, b.count)
        let pa = Array(repeating: 1, count: rank - a.count) + a
        let pb = Array(repeating: 1, count: rank - b.count) + b
        return try zip(pa, pb).map { x, y in
            if x == y || y == 1 { return x }
            if x == 1 { return y }
            throw TensorError.shapeMismatch("cannot broadcast \(a) with \(b)")
        }
    }

    /// Applies `op` elementwise with broadcasting; the innermost dimension runs as a tight loop.
    @inlinable
    public static func broadcast(_ a: Tensor, _ b: Tensor, _ op: @escaping (Float, Float) -> Float) throws -> Tensor {
        let shape = try broadcastShape(a.shape, b.shape)
        let out = Tensor(uninitialized: shape)
        let pa = a.pointer, pb = b.pointer, po = out.pointer
        if a.shape == b.shape {
            parallelRanges(out.count) { r in for i in r { po[i] = op(pa[i], pb[i]) } }
            return out
        }
        let sa = broadcastStrides(a.shape, to: shape), sb = broadcastStrides(b.shape, to: shape)
        let inner = shape.last ?? 1
        let ia = sa.last ?? 0, ib = sb.last ?? 0
        let rows = out.count / max(inner, 1)
        parallelRanges(rows, minimumChunk: max(1, 16_384 / max(inner, 1))) { range in
            for row in range {
                var rem = row, offA = 0, offB = 0
                for d in stride(from: shape.count - 2, through: 0, by: -1) {
                    let i = rem % shape[d]
                    rem /= shape[d]
                    offA += i * sa[d]
                    offB += i * sb[d]
                }
                let dst = po + row * inner
                for j in 0..<inner { dst[j] = op(pa[offA + j * ia], pb[offB + j * ib]) }
            }
        }
        return out
    }

    /// Element strides of `shape` seen as `target` (0 along broadcast dimensions).
    public static func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
        let padded = Array(repeating: 1, count: target.count - shape.count) + shape
        var strides = Array(repeating: 0, count: target.count)
        var step = 1
        for d in stride(from: target.count - 1, through: 0, by: -1) {
            strides[d] = padded[d] == 1 ? 0 : step
            step *= padded[d]
        }
        return strides
    }

    /// Concatenates tensors along dimension 1 (channels), in order; all other dimensions must agree.
    public static func concatChannels(_ parts: [Tensor]) throws -> Tensor {
        guard let first = parts.first, first.rank >= 2 else { throw TensorError.shapeMismatch("concat of nothing") }
        let batch = first.shape[0]
        let tail = Array(first.shape.dropFirst(2))
        for p in parts where p.shape[0] != batch || Array(p.shape.dropFirst(2)) != tail {
            throw TensorError.shapeMismatch("concat \(first.shape) with \(p.shape)")
        }
        let plane = tail.reduce(1, *)
        let channels = parts.reduce(0) { $0 + $1.shape[1] }
        let out = Tensor(uninitialized: [batch, channels] + tail)
        for b in 0..<batch {
            var dst = out.pointer + b * channels * plane
            for p in parts {
                let n = p.shape[1] * plane
                dst.update(from: p.pointer + b * n, count: n)
                dst += n
            }
        }
        return out
    }

    /// x ← x·scale + shift for every element.
    public static func affineInPlace(_ x: Tensor, scale: Float, shift: Float) {
        let p = x.pointer
        parallelRanges(x.count) { r in for i in r { p[i] = p[i] * scale + shift } }
    }
}

extension Elementwise {
    /// x[b,c,...] ← x[b,c,...]·scale[b,c] + shift[b,c] (per-sample, per-channel modulation); `scale` nil means 1.
    public static func modulateInPlace(_ x: Tensor, scale: Tensor?, shift: Tensor) throws {
        guard x.rank >= 2, shift.count == x.shape[0] * x.shape[1], scale.map({ $0.count == shift.count }) ?? true else {
            throw TensorError.shapeMismatch("modulate \(x.shape) by scale \(scale?.shape ?? []) shift \(shift.shape)")
        }
        let rows = x.shape[0] * x.shape[1]
        let plane = x.count / max(rows, 1)
        let p = x.pointer, sh = shift.pointer, sc = scale?.pointer
        parallelRanges(rows, minimumChunk: max(1, 16_384 / max(plane, 1))) { range in
            for r in range {
                let s = sc?[r] ?? 1, t = sh[r]
                let row = p + r * plane
                for i in 0..<plane { row[i] = row[i] * s + t }
            }
        }
    }
}
