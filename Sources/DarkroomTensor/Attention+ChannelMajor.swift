import CBLAS

extension Attention {
    /// softmax(Qᵀ·K·scale)·Vᵀ for `heads` heads stored channel-major, fused per block of queries, into `out`.
    ///
    /// `query` and `out` are [heads·d, n] (head j's rows j·d..<(j+1)·d, one column per query), `key` and `value`
    /// [heads·d, lk]. Each (head, block of up to 256 queries, `queryBlock`) is one piece of work: its scores
    /// [block, lk] = Q_blockᵀ·K_j, their softmax and O_j[:, block] = V_j·scoresᵀ are made in one pass on one thread,
    /// so nothing of size n × lk is kept
    /// (IF-I-M at 32²: 4.5 MB per head before) and the pieces split evenly across threads whatever the head count.
    public static func channelMajor(query: UnsafePointer<Float>, key: UnsafePointer<Float>, value: UnsafePointer<Float>,
                                    into out: UnsafeMutablePointer<Float>, heads: Int, headDim d: Int, queries n: Int,
                                    keys lk: Int, scale: Float) {
        guard heads > 0, d > 0, n > 0, lk > 0 else { return }
        let queryBlock = Self.queryBlock(queries: n, groups: heads)
        let blocks = (n + queryBlock - 1) / queryBlock
        forEachAttentionPiece(heads * blocks, scratch: queryBlock * lk) { piece, scores in
            let j = piece / blocks, first = piece % blocks * queryBlock, rows = min(queryBlock, n - first)
            let q = query + j * d * n + first, k = key + j * d * lk, v = value + j * d * lk
            // scores [rows, lk] = Q_j[:, block]ᵀ · K_j.
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(rows), Int32(lk), Int32(d),
                        1, q, Int32(n), k, Int32(lk), 0, scores, Int32(lk))
            for r in 0..<rows { Softmax.rowInPlace(scores + r * lk, count: lk, scale: scale) }
            // O_j[:, block] [d, rows] = V_j [d, lk] · scoresᵀ.
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(d), Int32(rows), Int32(lk),
                        1, v, Int32(lk), scores, Int32(lk), 0, out + j * d * n + first, Int32(n))
        }
    }
}
