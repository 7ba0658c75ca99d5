import Foundation

/// 3×3 convolution (stride 1, padding 1) by Winograd's F(4×4, 3×3): 36 GEMMs of [Co,Ci]×[Ci,tiles] on 6×6 input
/// tiles that yield 4×4 outputs, 4× fewer multiplies than direct convolution (F(2×2, 3×3): 2.25×) and 2.25 transformed
/// values per pixel instead of 4 (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016). Its
/// transforms scale by up to 8 and 1/24, so Float32 results differ from direct convolution by ~1e-6 relative, more
/// than F(2×2)'s few ulps: use it on large maps, where the multiplies are.
///
/// Weights are kept transformed (`resident`, 4× the weight in Float32) or transformed again at every call
/// (`streaming`), and images go through in blocks of tile rows, as `WinogradConv3x3` does. Tile rows are padded to a
/// multiple of 8 tiles, so the transforms work on eight tiles per SIMD vector.
// @unchecked Sendable: the weights are written once at construction and only read afterwards.
public struct Winograd4x4Conv3x3: @unchecked Sendable {
    /// The weights: U = G·g·Gᵀ for every (co, ci) as 36 matrices [Co, Ci], kept or made again at every call.
    let weights: WinogradWeights
    public let bias: Tensor?
    public var outputs: Int { weights.outputs }
    public var inputs: Int { weights.inputs }
    /// The kept transformed weights [36, Co, Ci]; nil when streamed.
    public var transformed: Tensor? { weights.resident }
    /// Tiles per block of tile rows (at least one row).
    static let blockTiles = 512

    /// Transforms `weight` [Co,Ci,3,3] once and keeps the result.
    public init(weight: Tensor, bias: Tensor?) throws {
        weights = try WinogradWeights(weight: weight, bias: bias, elements: 36, transform: Winograd4x4Conv3x3.transformWeights)
        self.bias = bias
    }

    /// Keeps `weight` as stored (half precision stays half) and transforms it at every call.
    public init(streaming weight: WeightTensor, bias: Tensor?) throws {
        weights = try WinogradWeights(streaming: weight, bias: bias, elements: 36, transform: Winograd4x4Conv3x3.transformWeights)
        self.bias = bias
    }

    /// U = G·g·Gᵀ (6×6) for `pairs` = Co·Ci kernels at `w`, into `u` [36, Co·Ci]: eight kernels per SIMD vector
    /// (a streamed convolution runs this at every call).
    static func transformWeights(_ w: UnsafePointer<Float>, pairs plane: Int, into u: UnsafeMutablePointer<Float>) {
        parallelRanges((plane + 7) / 8, minimumChunk: 64) { range in
            let g = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: 9 + 18)   // the kernels, then G·g (6×3)
            defer { g.deallocate() }
            let gg = g + 9
            for group in range {
                let first = 8 * group, n = min(8, plane - first)
                for e in 0..<9 {
                    var v = SIMD8<Float>()
                    for lane in 0..<n { v[lane] = w[(first + lane) * 9 + e] }
                    g[e] = v
                }
                // G·g down each kernel column c: gg[3·r + c].
                for c in 0..<3 {
                    let col = gTimes(g[c], g[3 + c], g[6 + c])
                    gg[c] = col.0; gg[3 + c] = col.1; gg[6 + c] = col.2; gg[9 + c] = col.3; gg[12 + c] = col.4; gg[15 + c] = col.5
                }
                @inline(__always) func store(_ k: Int, _ value: SIMD8<Float>) {
                    let dst = u + k * plane + first
                    if n == 8 {
                        UnsafeMutableRawPointer(dst).storeBytes(of: value, as: SIMD8<Float>.self)
                    } else {
                        for lane in 0..<n { dst[lane] = value[lane] }
                    }
                }
                // (G·g)·Gᵀ along each of the six rows.
                for r in 0..<6 {
                    let out = gTimes(gg[3 * r], gg[3 * r + 1], gg[3 * r + 2])
                    store(6 * r, out.0); store(6 * r + 1, out.1); store(6 * r + 2, out.2)
                    store(6 * r + 3, out.3); store(6 * r + 4, out.4); store(6 * r + 5, out.5)
                }
            }
        }
    }

    /// G·(g0, g1, g2) for F(4×4, 3×3), on eight kernels at once.
    @inline(__always)
    static func gTimes(_ g0: SIMD8<Float>, _ g1: SIMD8<Float>, _ g2: SIMD8<Float>) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        let sum = g0 + g2
        return (g0 / 4, -(sum + g1) / 6, -(sum - g1) / 6, g0 / 24 + g1 / 12 + g2 / 6, g0 / 24 - g1 / 12 + g2 / 6, g2)
    }

    /// Convolves `x` [B,Ci,H,W] (any H, W ≥ 1) with padding 1.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        guard x.rank == 4, x.shape[1] == inputs else {
            throw TensorError.shapeMismatch("Winograd conv input \(x.shape) for \(inputs) channels")
        }
        return try weights.withTransformed { try convolve(x, u: $0) }
    }

    /// One block of GEMM columns: tile rows `rows` of each sample in `samples` (several samples when an image has
    /// fewer tiles than a block, so that small maps still make wide GEMMs).
    private struct Block {
        var samples: Range<Int>
        var rows: Range<Int>
    }

    private func convolve(_ x: Tensor, u up: UnsafeMutablePointer<Float>) throws -> Tensor {
        let (batch, h, w) = (x.shape[0], x.shape[2], x.shape[3])
        let out = Tensor(uninitialized: [batch, outputs, h, w])
        let th = (h + 3) / 4, tw = ((w + 3) / 4 + 7) / 8 * 8
        var blocks: [Block] = []
        if th * tw >= Winograd4x4Conv3x3.blockTiles {
            let rowsPerBlock = max(1, Winograd4x4Conv3x3.blockTiles / tw)
            for b in 0..<batch {
                for ty0 in stride(from: 0, to: th, by: rowsPerBlock) { blocks.append(Block(samples: b..<(b + 1), rows: ty0..<min(th, ty0 + rowsPerBlock))) }
            }
        } else {
            let samplesPerBlock = max(1, Winograd4x4Conv3x3.blockTiles / (th * tw))
            for b0 in stride(from: 0, to: batch, by: samplesPerBlock) { blocks.append(Block(samples: b0..<min(batch, b0 + samplesPerBlock), rows: 0..<th)) }
        }
        let most = blocks.map { $0.samples.count * $0.rows.count * tw }.max() ?? 0
        let v = ScratchBuffer.forCurrentThread(count: 36 * inputs * most, slot: .winogradInput)
        let m = ScratchBuffer.forCurrentThread(count: 36 * outputs * most, slot: .winogradOutput)
        let (vp, mp, co, ci) = (v.pointer, m.pointer, outputs, inputs)
        for block in blocks {
            let perSample = block.rows.count * tw
            let columns = block.samples.count * perSample
            for (k, b) in block.samples.enumerated() {
                inputTransform(x.pointer + b * inputs * h * w, h: h, w: w, rows: block.rows, tw: tw, into: vp + k * perSample, columns: columns)
            }
            try Engine.shards(36) { range in
                for k in range {
                    sgemm(m: co, n: columns, k: ci, a: up + k * co * ci, b: vp + k * ci * columns, c: mp + k * co * columns)
                }
            }
            for (k, b) in block.samples.enumerated() {
                outputTransform(mp + k * perSample, h: h, w: w, rows: block.rows, tw: tw, columns: columns, into: out.pointer + b * outputs * h * w)
            }
        }
        return out
    }

    /// Bᵀ·(d0…d5) for F(4×4, 3×3), on eight tiles at once.
    @inline(__always)
    static func bTransposeTimes(_ d0: SIMD8<Float>, _ d1: SIMD8<Float>, _ d2: SIMD8<Float>, _ d3: SIMD8<Float>,
                                _ d4: SIMD8<Float>, _ d5: SIMD8<Float>) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        let a = d4 - 4 * d2, b = d3 - 4 * d1   // shared terms of rows 1 and 2
        let c = d4 - d2, e = 2 * (d3 - d1)     // shared terms of rows 3 and 4
        return (4 * d0 - 5 * d2 + d4, a + b, a - b, c + e, c - e, 4 * d1 - 5 * d3 + d5)
    }

    /// V = Bᵀ·d·B for every channel and 6×6 input tile of the tile rows `rows` (tiles overlap by 2; outside the
    /// image is 0). `v` receives, for element k and channel c, the tiles at `v + (k·Ci + c)·columns` (`columns`: the
    /// width of the whole block).
    ///
    /// Each padded image row is first split by column phase (phase j holds columns 4·tx + j), so that one tile
    /// column of eight consecutive tiles is one contiguous 8-lane load.
    private func inputTransform(_ src: UnsafePointer<Float>, h: Int, w: Int, rows: Range<Int>, tw: Int,
                                into v: UnsafeMutablePointer<Float>, columns: Int) {
        let stride = inputs * columns
        let padRows = 4 * rows.count + 2
        let phaseWidth = tw + 8   // tiles tx and tx + 1 (columns 4, 5 of a tile are phases 0, 1 of the next)
        let firstRow = 4 * rows.lowerBound - 1
        parallelRanges(inputs, minimumChunk: max(1, 4096 / max(columns, 1))) { range in
            let phases = UnsafeMutablePointer<Float>.allocate(capacity: padRows * 4 * phaseWidth)
            let t = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: 36)   // Bᵀ·d, row-major 6×6
            defer { phases.deallocate(); t.deallocate() }
            for c in range {
                let plane = src + c * h * w
                for r in 0..<padRows {
                    let y = firstRow + r
                    let row = phases + r * 4 * phaseWidth
                    row.update(repeating: 0, count: 4 * phaseWidth)
                    guard y >= 0 && y < h else { continue }
                    let line = plane + y * w
                    // Column 4·tx + j − 1 of the image (padding 1 on the left).
                    for x in 0..<w {
                        let p = x + 1
                        row[(p & 3) * phaseWidth + (p >> 2)] = line[x]
                    }
                }
                let dst = v + c * columns
                for ty in 0..<rows.count {
                    let base = phases + 4 * ty * 4 * phaseWidth
                    for tx in Swift.stride(from: 0, to: tw, by: 8) {
                        @inline(__always) func load(_ r: Int, _ j: Int) -> SIMD8<Float> {
                            UnsafeRawPointer(base + r * 4 * phaseWidth + (j & 3) * phaseWidth + tx + (j >> 2)).loadUnaligned(as: SIMD8<Float>.self)
                        }
                        // Bᵀ·d down each of the six tile columns.
                        for j in 0..<6 {
                            let col = Winograd4x4Conv3x3.bTransposeTimes(load(0, j), load(1, j), load(2, j), load(3, j), load(4, j), load(5, j))
                            t[j] = col.0; t[6 + j] = col.1; t[12 + j] = col.2; t[18 + j] = col.3; t[24 + j] = col.4; t[30 + j] = col.5
                        }
                        // ·B along each row.
                        let o = dst + ty * tw + tx
                        @inline(__always) func store(_ k: Int, _ value: SIMD8<Float>) {
                            UnsafeMutableRawPointer(o + k * stride).storeBytes(of: value, as: SIMD8<Float>.self)
                        }
                        for i in 0..<6 {
                            let q = t + 6 * i
                            let r = Winograd4x4Conv3x3.bTransposeTimes(q[0], q[1], q[2], q[3], q[4], q[5])
                            store(6 * i, r.0); store(6 * i + 1, r.1); store(6 * i + 2, r.2)
                            store(6 * i + 3, r.3); store(6 * i + 4, r.4); store(6 * i + 5, r.5)
                        }
                    }
                }
            }
        }
    }

    /// Aᵀ·(m0…m5) for F(4×4, 3×3), on eight tiles at once.
    @inline(__always)
    static func aTransposeTimes(_ m0: SIMD8<Float>, _ m1: SIMD8<Float>, _ m2: SIMD8<Float>, _ m3: SIMD8<Float>,
                                _ m4: SIMD8<Float>, _ m5: SIMD8<Float>) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        let sum12 = m1 + m2, diff12 = m1 - m2, sum34 = m3 + m4, diff34 = m3 - m4
        return (m0 + sum12 + sum34, diff12 + 2 * diff34, sum12 + 4 * sum34, diff12 + 8 * diff34 + m5)
    }

    /// Y = Aᵀ·M·A (4×4 per tile) plus the bias, cropped to the image, for the tile rows `rows`; `m` holds, for
    /// element k and output channel o, the tiles at `m + (k·Co + o)·columns`.
    private func outputTransform(_ m: UnsafePointer<Float>, h: Int, w: Int, rows: Range<Int>, tw: Int, columns: Int,
                                 into dst: UnsafeMutablePointer<Float>) {
        let stride = outputs * columns
        let bp = bias?.pointer
        parallelRanges(outputs, minimumChunk: max(1, 4096 / max(columns, 1))) { range in
            let p = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: 24)   // Aᵀ·M, row-major 4×6
            defer { p.deallocate() }
            for o in range {
                let src = m + o * columns
                let plane = dst + o * h * w
                let bv = bp?[o] ?? 0
                for ty in rows {
                    for tx in Swift.stride(from: 0, to: tw, by: 8) {
                        let s = src + (ty - rows.lowerBound) * tw + tx
                        @inline(__always) func load(_ k: Int) -> SIMD8<Float> {
                            UnsafeRawPointer(s + k * stride).loadUnaligned(as: SIMD8<Float>.self)
                        }
                        // Aᵀ·M down each of the six columns, then ·A along the four rows.
                        for j in 0..<6 {
                            let col = Winograd4x4Conv3x3.aTransposeTimes(load(j), load(6 + j), load(12 + j), load(18 + j), load(24 + j), load(30 + j))
                            p[j] = col.0; p[6 + j] = col.1; p[12 + j] = col.2; p[18 + j] = col.3
                        }
                        for i in 0..<4 {
                            let y = 4 * ty + i
                            guard y < h else { break }
                            let q = p + 6 * i
                            let r = Winograd4x4Conv3x3.aTransposeTimes(q[0], q[1], q[2], q[3], q[4], q[5])
                            let line = plane + y * w
                            for lane in 0..<8 {
                                let x = 4 * (tx + lane)
                                if x >= w { break }
                                line[x] = r.0[lane] + bv
                                if x + 1 < w { line[x + 1] = r.1[lane] + bv }
                                if x + 2 < w { line[x + 2] = r.2[lane] + bv }
                                if x + 3 < w { line[x + 3] = r.3[lane] + bv }
                            }
                        }
                    }
                }
            }
        }
    }
}
