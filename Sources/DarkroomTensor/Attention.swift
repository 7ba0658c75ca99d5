import Foundation

/// Multi-head scaled dot-product attention with batched GEMMs.
public enum Attention {
    /// softmax(Q·Kᵀ/√d)·V per batch element and head.
    ///
    /// `query` is [B,Lq,H·d], `key` and `value` are [B,Lk,H·d]; heads are interleaved along the last dimension as
    /// PyTorch's `MultiheadAttention` and diffusers lay them out. Returns [B,Lq,H·d].
    public static func multiHead(query: Tensor, key: Tensor, value: Tensor, heads: Int) throws -> Tensor {
        guard query.rank == 3, key.rank == 3, value.shape == key.shape, query.shape[0] == key.shape[0],
              query.shape[2] == key.shape[2], heads > 0, query.shape[2] % heads == 0 else {
            throw TensorError.shapeMismatch("attention q \(query.shape) k \(key.shape) v \(value.shape) heads \(heads)")
        }
        let (batch, lq, width) = (query.shape[0], query.shape[1], query.shape[2])
        let lk = key.shape[1]
        let d = width / heads
        let scale = 1 / Float(d).squareRoot()
        let out = Tensor(uninitialized: [batch, lq, width])
        let scores = TensorStorage(uninitializedCount: lq * lk)
        for b in 0..<batch {
            for h in 0..<heads {
                let q = query.pointer + b * lq * width + h * d
                let k = key.pointer + b * lk * width + h * d
                let v = value.pointer + b * lk * width + h * d
                sgemm(transposeB: true, m: lq, n: lk, k: d, alpha: scale, a: q, lda: width, b: k, ldb: width,
                      c: scores.pointer)
                let sp = scores.pointer
                parallelRanges(lq, minimumChunk: max(1, 8192 / lk)) { range in
                    for r in range { Softmax.rowInPlace(sp + r * lk, count: lk) }
                }
                sgemm(m: lq, n: d, k: lk, a: scores.pointer, b: v, ldb: width,
                      c: out.pointer + b * lq * width + h * d, ldc: width)
            }
        }
        return out
    }
}
