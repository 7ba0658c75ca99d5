import Foundation

/// 3×3 convolution (stride 1, padding 1) by Winograd's F(2×2, 3×3): 16 GEMMs of [Co,Ci]×[Ci,tiles] replace one
/// of [Co,9·Ci]×[9·Ci,H·W], 2.25× fewer multiplies (Lavin & Gray, "Fast Algorithms for Convolutional Neural
/// Networks", 2016). The transforms only add, subtract and halve, so Float32 results stay within a few ulps of
/// the direct convolution's.
///
/// The transformed weights are either kept (`resident`: 16/9 of the weight in Float32) or made again from the stored
/// weight at every call (`streamed`: nothing is kept; the transform costs ~1/(32·tiles) of the GEMMs, and a
/// memory-mapped half-precision weight's pages are handed back after it). Images are convolved in blocks of tile rows
/// (about `blockTiles` tiles), so the transformed tiles of one block stay small, in per-thread buffers reused across
/// calls.
// @unchecked Sendable: the weights are written once at construction and only read afterwards.
public struct WinogradConv3x3: @unchecked Sendable {
    /// The weights: U = G·g·Gᵀ for every (co, ci) as 16 matrices [Co, Ci], kept or made again at every call.
    let weights: WinogradWeights
    public let bias: Tensor?
    public var outputs: Int { weights.outputs }
    public var inputs: Int { weights.inputs }
    /// The kept transformed weights [16, Co, Ci]; nil when streamed.
    public var transformed: Tensor? { weights.resident }
    /// Tiles per block of tile rows (at least one row).
    static let blockTiles = 1024

    /// Transforms `weight` [Co,Ci,3,3] once and keeps the result.
    public init(weight: Tensor, bias: Tensor?) throws {
        weights = try WinogradWeights(weight: weight, bias: bias, elements: 16, transform: WinogradConv3x3.transformWeights)
        self.bias = bias
    }

    /// Keeps `weight` as stored (half precision stays half) and transforms it at every call.
    public init(streaming weight: WeightTensor, bias: Tensor?) throws {
        weights = try WinogradWeights(streaming: weight, bias: bias, elements: 16, transform: WinogradConv3x3.transformWeights)
        self.bias = bias
    }

    /// U for `pairs` = Co·Ci kernels at `w` into `u` [16, Co·Ci].
    static func transformWeights(_ w: UnsafePointer<Float>, pairs plane: Int, into u: UnsafeMutablePointer<Float>) {
        parallelRanges(plane, minimumChunk: 1024) { range in
            for pair in range {
                let g = w + pair * 9
                // G·g (4×3), one SIMD4 per kernel column: rows g₀, (g₀+g₁+g₂)/2, (g₀−g₁+g₂)/2, g₂.
                func column(_ c: Int) -> SIMD4<Float> {
                    let (g0, g1, g2) = (g[c], g[3 + c], g[6 + c])
                    return SIMD4(g0, 0.5 * (g0 + g1 + g2), 0.5 * (g0 - g1 + g2), g2)
                }
                let (a, b, c) = (column(0), column(1), column(2))
                // (G·g)·Gᵀ: the same combination across the columns, for the four rows at once.
                let u0 = a, u1 = 0.5 * (a + b + c), u2 = 0.5 * (a - b + c), u3 = c
                for row in 0..<4 {
                    u[(4 * row) * plane + pair] = u0[row]
                    u[(4 * row + 1) * plane + pair] = u1[row]
                    u[(4 * row + 2) * plane + pair] = u2[row]
                    u[(4 * row + 3) * plane + pair] = u3[row]
                }
            }
        }
    }

    /// Convolves `x` [B,Ci,H,W] (any H, W ≥ 1) with padding 1.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        guard x.rank == 4, x.shape[1] == inputs else {
            throw TensorError.shapeMismatch("Winograd conv input \(x.shape) for \(inputs) channels")
        }
        return try weights.withTransformed { try convolve(x, u: $0) }
    }

    private func convolve(_ x: Tensor, u up: UnsafeMutablePointer<Float>) throws -> Tensor {
        let (batch, h, w) = (x.shape[0], x.shape[2], x.shape[3])
        let out = Tensor(uninitialized: [batch, outputs, h, w])
        let (th, tw) = ((h + 1) / 2, (w + 1) / 2)
        let rowsPerBlock = max(1, min(th, WinogradConv3x3.blockTiles / tw))
        let most = rowsPerBlock * tw
        let v = ScratchBuffer.forCurrentThread(count: 16 * inputs * most, slot: .winogradInput)
        let m = ScratchBuffer.forCurrentThread(count: 16 * outputs * most, slot: .winogradOutput)
        let (vp, mp, co, ci) = (v.pointer, m.pointer, outputs, inputs)
        for b in 0..<batch {
            for ty0 in stride(from: 0, to: th, by: rowsPerBlock) {
                let rows = ty0..<min(th, ty0 + rowsPerBlock)
                let columns = rows.count * tw
                inputTransform(x.pointer + b * inputs * h * w, h: h, w: w, rows: rows, tw: tw, into: vp)
                try Engine.shards(16) { range in
                    for k in range {
                        sgemm(m: co, n: columns, k: ci, a: up + k * co * ci, b: vp + k * ci * columns, c: mp + k * co * columns)
                    }
                }
                outputTransform(mp, h: h, w: w, rows: rows, tw: tw, into: out.pointer + b * outputs * h * w)
            }
        }
        return out
    }

    /// V = Bᵀ·d·B for every channel and 4×4 input tile of the tile rows `rows` (tiles overlap by 2; outside the
    /// image is 0).
    ///
    /// Eight tiles of a tile row at a time: one 16-lane load of each input row starting at column 2·tx holds the tiles'
    /// columns 0 and 1 in its even and odd lanes; the load two columns on holds columns 2 and 3.
    /// `v` receives, for element k and channel c, the block's tiles at `v + (k·Ci + c)·columns`.
    private func inputTransform(_ src: UnsafePointer<Float>, h: Int, w: Int, rows: Range<Int>, tw: Int,
                                into v: UnsafeMutablePointer<Float>) {
        let columns = rows.count * tw
        // The block's image rows (2·ty0 − 1 …), padded by a zero column before the image and enough after it for
        // the last 16-lane loads; rows outside the image are zero.
        let (ph, pw) = (2 * rows.count + 2, 2 * tw + 18)
        let firstRow = 2 * rows.lowerBound - 1
        let stride = inputs * columns
        parallelRanges(inputs, minimumChunk: max(1, 4096 / max(columns, 1))) { range in
            let padded = UnsafeMutablePointer<Float>.allocate(capacity: ph * pw)
            defer { padded.deallocate() }
            padded.initialize(repeating: 0, count: ph * pw)
            for c in range {
                let plane = src + c * h * w
                for r in 0..<ph {
                    let y = firstRow + r
                    if y >= 0 && y < h { (padded + r * pw + 1).update(from: plane + y * w, count: w) }
                    else { (padded + r * pw).update(repeating: 0, count: pw) }
                }
                let dst = v + c * columns
                for ty in 0..<rows.count {
                    let r0 = padded + 2 * ty * pw
                    let row = dst + ty * tw
                    var tx = 0
                    while tx + 8 <= tw {
                        // d[r][k] for eight tiles, r = input row 0…3, k = tile column 0…3.
                        func columns(_ r: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
                            let p = r0 + r * pw + 2 * tx
                            let a = UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
                            let b = UnsafeRawPointer(p + 2).loadUnaligned(as: SIMD16<Float>.self)
                            return (a.evenHalf, a.oddHalf, b.evenHalf, b.oddHalf)
                        }
                        let d0 = columns(0), d1 = columns(1), d2 = columns(2), d3 = columns(3)
                        func store(_ k: Int, _ value: SIMD8<Float>) {
                            UnsafeMutableRawPointer(row + k * stride + tx).storeBytes(of: value, as: SIMD8<Float>.self)
                        }
                        // Bᵀ·d (rows), then ·B (columns).
                        let a = (d0.0 - d2.0, d0.1 - d2.1, d0.2 - d2.2, d0.3 - d2.3)
                        let b = (d1.0 + d2.0, d1.1 + d2.1, d1.2 + d2.2, d1.3 + d2.3)
                        let e = (d2.0 - d1.0, d2.1 - d1.1, d2.2 - d1.2, d2.3 - d1.3)
                        let f = (d1.0 - d3.0, d1.1 - d3.1, d1.2 - d3.2, d1.3 - d3.3)
                        func emit(_ i: Int, _ t: (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)) {
                            store(4 * i, t.0 - t.2)
                            store(4 * i + 1, t.1 + t.2)
                            store(4 * i + 2, t.2 - t.1)
                            store(4 * i + 3, t.1 - t.3)
                        }
                        emit(0, a)
                        emit(1, b)
                        emit(2, e)
                        emit(3, f)
                        tx += 8
                    }
                    while tx < tw {
                        let x0 = 2 * tx
                        var d = (SIMD4<Float>(), SIMD4<Float>(), SIMD4<Float>(), SIMD4<Float>())
                        d.0 = UnsafeRawPointer(r0 + x0).loadUnaligned(as: SIMD4<Float>.self)
                        d.1 = UnsafeRawPointer(r0 + pw + x0).loadUnaligned(as: SIMD4<Float>.self)
                        d.2 = UnsafeRawPointer(r0 + 2 * pw + x0).loadUnaligned(as: SIMD4<Float>.self)
                        d.3 = UnsafeRawPointer(r0 + 3 * pw + x0).loadUnaligned(as: SIMD4<Float>.self)
                        let o = row + tx
                        func emit(_ i: Int, _ t: SIMD4<Float>) {
                            o[(4 * i) * stride] = t[0] - t[2]
                            o[(4 * i + 1) * stride] = t[1] + t[2]
                            o[(4 * i + 2) * stride] = t[2] - t[1]
                            o[(4 * i + 3) * stride] = t[1] - t[3]
                        }
                        emit(0, d.0 - d.2)
                        emit(1, d.1 + d.2)
                        emit(2, d.2 - d.1)
                        emit(3, d.1 - d.3)
                        tx += 1
                    }
                }
            }
        }
    }

    /// Y = Aᵀ·M·A (2×2 per tile) plus the bias, cropped to the image, for the tile rows `rows`.
    /// `m` holds, for element k and output channel o, the block's tiles at `m + (k·Co + o)·columns`.
    private func outputTransform(_ m: UnsafePointer<Float>, h: Int, w: Int, rows: Range<Int>, tw: Int,
                                 into dst: UnsafeMutablePointer<Float>) {
        let columns = rows.count * tw
        let stride = outputs * columns
        let bp = bias?.pointer
        parallelRanges(outputs, minimumChunk: max(1, 4096 / max(columns, 1))) { range in
            for o in range {
                let src = m + o * columns
                let plane = dst + o * h * w
                let bv = bp?[o] ?? 0
                for ty in rows {
                    let y = 2 * ty
                    for tx in 0..<tw {
                        let s = src + (ty - rows.lowerBound) * tw + tx
                        let m00 = s[0], m01 = s[stride], m02 = s[2 * stride], m03 = s[3 * stride]
                        let m10 = s[4 * stride], m11 = s[5 * stride], m12 = s[6 * stride], m13 = s[7 * stride]
                        let m20 = s[8 * stride], m21 = s[9 * stride], m22 = s[10 * stride], m23 = s[11 * stride]
                        let m30 = s[12 * stride], m31 = s[13 * stride], m32 = s[14 * stride], m33 = s[15 * stride]
                        // Aᵀ·M: rows 0+1+2 and 1−2−3.
                        let p0 = m00 + m10 + m20, p1 = m01 + m11 + m21, p2 = m02 + m12 + m22, p3 = m03 + m13 + m23
                        let q0 = m10 - m20 - m30, q1 = m11 - m21 - m31, q2 = m12 - m22 - m32, q3 = m13 - m23 - m33
                        let x = 2 * tx
                        let line0 = plane + y * w
                        line0[x] = p0 + p1 + p2 + bv
                        if x + 1 < w { line0[x + 1] = p1 - p2 - p3 + bv }
                        if y + 1 < h {
                            let line1 = line0 + w
                            line1[x] = q0 + q1 + q2 + bv
                            if x + 1 < w { line1[x + 1] = q1 - q2 - q3 + bv }
                        }
                    }
                }
            }
        }
    }
}
