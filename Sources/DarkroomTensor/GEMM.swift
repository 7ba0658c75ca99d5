import CBLAS
import DarkroomSupport
import Foundation

/// OpenBLAS runs single-threaded: the engine splits large GEMMs across its own threads instead, so no BLAS thread
/// pool spins between calls and batch shards can call GEMM concurrently.
let blasSingleThreaded: Void = openblas_set_num_threads(1)

/// Row-major single-precision matrix multiply through OpenBLAS: C = alpha·op(A)·op(B) + beta·C.
///
/// `m`, `n`, `k` are the sizes of op(A) [m,k], op(B) [k,n] and C [m,n]; leading dimensions default to packed rows.
/// Products above about a million multiply–adds are split into column (or row) blocks, one per engine thread.
public func sgemm(
    transposeA: Bool = false, transposeB: Bool = false,
    m: Int, n: Int, k: Int,
    alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int? = nil,
    b: UnsafePointer<Float>, ldb: Int? = nil,
    beta: Float = 0,
    c: UnsafeMutablePointer<Float>, ldc: Int? = nil
) {
    _ = blasSingleThreaded
    if m == 0 || n == 0 { return }
    let lda = lda ?? (transposeA ? m : k)
    let ldb = ldb ?? (transposeB ? k : n)
    let ldc = ldc ?? n
    let ta = transposeA ? CblasTrans : CblasNoTrans
    let tb = transposeB ? CblasTrans : CblasNoTrans
    let parts = isSerialThread ? 1 : min(Engine.threads, max(1, m * n * k / 1_000_000))
    func block(rows: Range<Int>, cols: Range<Int>) {
        // Row r of op(A) starts at a + r·lda (no transpose) or a + r (transpose); likewise columns of op(B).
        let aStart = transposeA ? a + rows.lowerBound : a + rows.lowerBound * lda
        let bStart = transposeB ? b + cols.lowerBound * ldb : b + cols.lowerBound
        cblas_sgemm(CblasRowMajor, ta, tb, Int32(rows.count), Int32(cols.count), Int32(k),
                    alpha, aStart, Int32(lda), bStart, Int32(ldb),
                    beta, c + rows.lowerBound * ldc + cols.lowerBound, Int32(ldc))
    }
    if parts <= 1 {
        block(rows: 0..<m, cols: 0..<n)
        return
    }
    // Split the wider dimension, in multiples of 16 so kernels keep full vector tiles.
    let splitColumns = n >= m
    let extent = splitColumns ? n : m
    let step = ((extent + parts - 1) / parts + 15) / 16 * 16
    let count = (extent + step - 1) / step
    performConcurrently(count) { i in
        let range = (i * step)..<min(extent, (i + 1) * step)
        if splitColumns { block(rows: 0..<m, cols: range) } else { block(rows: range, cols: 0..<n) }
    }
}
