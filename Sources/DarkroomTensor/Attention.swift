import CBLAS
import DarkroomSupport
import Foundation

/// Multi-head scaled dot-product attention, fused per block of queries.
public enum Attention {
    /// Queries per block for `queries` queries in `groups` (samples × heads): the largest of 256, 128, 64, 32 that
    /// still gives every engine thread four pieces of work. Larger blocks repack K and V for BLAS fewer times (each
    /// block's two GEMMs pack them again); a block's scores (256 × 1101 floats, 1.1 MB at IF's 32²) stay in L2.
    static func queryBlock(queries: Int, groups: Int) -> Int {
        var block = 256
        while block > 32, groups * ((queries + block - 1) / block) < 4 * Engine.threads { block /= 2 }
        return block
    }

    /// softmax(Q·Kᵀ/√d)·V per batch element and head.
    ///
    /// `query` is [B,Lq,H·d], `key` and `value` are [B,Lk,H·d]; heads are interleaved along the last dimension as
    /// PyTorch's `MultiheadAttention` and diffusers lay them out. Returns [B,Lq,H·d].
    ///
    /// Each (sample, head, block of up to 256 queries) is one piece of work: its scores, their softmax and their product
    /// with V are made in one pass on one thread, so nothing of size Lq × Lk is ever kept and the threads never wait
    /// for each other between the steps. A row's arithmetic is the same as unfused attention's.
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
        guard lq > 0, lk > 0, d > 0 else { return out }
        let queryBlock = Self.queryBlock(queries: lq, groups: batch * heads)
        let blocks = (lq + queryBlock - 1) / queryBlock
        let (qp, kp, vp, op) = (query.pointer, key.pointer, value.pointer, out.pointer)
        forEachAttentionPiece(batch * heads * blocks, scratch: queryBlock * lk) { piece, scores in
            let block = piece % blocks, h = piece / blocks % heads, b = piece / (blocks * heads)
            let first = block * queryBlock, rows = min(queryBlock, lq - first)
            let q = qp + (b * lq + first) * width + h * d
            let k = kp + b * lk * width + h * d, v = vp + b * lk * width + h * d
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(lk), Int32(d),
                        scale, q, Int32(width), k, Int32(width), 0, scores, Int32(lk))
            for r in 0..<rows { Softmax.rowInPlace(scores + r * lk, count: lk) }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(d), Int32(lk),
                        1, scores, Int32(lk), v, Int32(width), 0, op + (b * lq + first) * width + h * d, Int32(width))
        }
        return out
    }

    /// Runs `body` on pieces 0..<`count` of attention work, contiguous runs of them per engine thread (one run on a
    /// shard thread), each thread with a scratch buffer of `scratch` floats of its own; OpenBLAS stays single-threaded.
    static func forEachAttentionPiece(_ count: Int, scratch: Int, _ body: (Int, UnsafeMutablePointer<Float>) -> Void) {
        _ = blasSingleThreaded
        let workers = isSerialThread ? 1 : min(Engine.threads, count)
        guard workers > 0 else { return }
        let step = (count + workers - 1) / workers
        performConcurrently(workers) { worker in
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: scratch)
            defer { buffer.deallocate() }
            let first = worker * step
            guard first < count else { return }   // ceil-sized steps can leave the last workers nothing
            for piece in first..<min(count, first + step) { body(piece, buffer) }
        }
    }
}
