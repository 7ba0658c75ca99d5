// DarkroomTensorAVX512: kernels compiled for AVX-512 (Skylake-AVX512 level), called only after DarkroomTensor's
// `CPUFeatures.hasAVX512` says the CPU and the kernel have it. Nothing here may run on other machines: no globals, no
// initialisers, and `tile` stays `@inline(never)` over internal helpers, so no caller built for Haswell inlines it.

/// The 16-bit-weight linear's tile (see DarkroomTensor's `HalfGEMM`) in sixteen-lane registers: 8 weight rows, each
/// 16-bit value widened in a register and broadcast, × up to 32 rows of packed x (two registers per weight row, 16
/// accumulators), 16 fused multiply–adds per input. (12 weight rows measured slower: the row pointers spill.)
public enum AVX512Tiles {
    /// Weight rows per tile.
    public static let weightRows = 8

    /// `out[r][o] (+)= Σ_k packed[k][r] · weight[o][k]` for r < `rows` (≤ 32) and o < `count` (≤ 8); `packed` rows are
    /// `stride` floats apart (stride ≥ 32, the tile's columns first), 16-bit weight rows (bf16 when `brain`, else IEEE
    /// half) `depth` values apart.
    @inline(never)
    public static func tile(packed: UnsafePointer<Float>, stride: Int, rows: Int, weight: UnsafePointer<UInt16>, count: Int, depth: Int,
                            out: UnsafeMutablePointer<Float>, outputs: Int, add: Bool, brain: Bool) {
        if brain {
            run(BF16.self, packed: packed, stride: stride, rows: rows, weight: weight, count: count, depth: depth, out: out, outputs: outputs, add: add)
        } else {
            run(FP16.self, packed: packed, stride: stride, rows: rows, weight: weight, count: count, depth: depth, out: out, outputs: outputs, add: add)
        }
    }

    @inline(__always)
    static func run<W: Widen>(_: W.Type, packed: UnsafePointer<Float>, stride: Int, rows: Int, weight: UnsafePointer<UInt16>, count: Int, depth: Int,
                              out: UnsafeMutablePointer<Float>, outputs: Int, add: Bool) {
        // Missing weight rows repeat the first one; their sums are not stored.
        let w0 = weight
        let w1 = count > 1 ? weight + depth : w0, w2 = count > 2 ? weight + 2 * depth : w0
        let w3 = count > 3 ? weight + 3 * depth : w0, w4 = count > 4 ? weight + 4 * depth : w0
        let w5 = count > 5 ? weight + 5 * depth : w0, w6 = count > 6 ? weight + 6 * depth : w0
        let w7 = count > 7 ? weight + 7 * depth : w0
        var a00 = SIMD16<Float>(), a01 = SIMD16<Float>(), a10 = SIMD16<Float>(), a11 = SIMD16<Float>()
        var a20 = SIMD16<Float>(), a21 = SIMD16<Float>(), a30 = SIMD16<Float>(), a31 = SIMD16<Float>()
        var a40 = SIMD16<Float>(), a41 = SIMD16<Float>(), a50 = SIMD16<Float>(), a51 = SIMD16<Float>()
        var a60 = SIMD16<Float>(), a61 = SIMD16<Float>(), a70 = SIMD16<Float>(), a71 = SIMD16<Float>()
        var p = UnsafeRawPointer(packed)
        let step = stride * 4
        if rows > 16 {
            for k in 0..<depth {
                let x0 = p.loadUnaligned(as: SIMD16<Float>.self)
                let x1 = p.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
                var b = SIMD16<Float>(repeating: W.float(w0[k]))
                a00.addProduct(b, x0); a01.addProduct(b, x1)
                b = SIMD16<Float>(repeating: W.float(w1[k]))
                a10.addProduct(b, x0); a11.addProduct(b, x1)
                b = SIMD16<Float>(repeating: W.float(w2[k]))
                a20.addProduct(b, x0); a21.addProduct(b, x1)
                b = SIMD16<Float>(repeating: W.float(w3[k]))
                a30.addProduct(b, x0); a31.addProduct(b, x1)
                b = SIMD16<Float>(repeating: W.float(w4[k]))
                a40.addProduct(b, x0); a41.addProduct(b, x1)
                b = SIMD16<Float>(repeating: W.float(w5[k]))
                a50.addProduct(b, x0); a51.addProduct(b, x1)
                b = SIMD16<Float>(repeating: W.float(w6[k]))
                a60.addProduct(b, x0); a61.addProduct(b, x1)
                b = SIMD16<Float>(repeating: W.float(w7[k]))
                a70.addProduct(b, x0); a71.addProduct(b, x1)
                p += step
            }
        } else {
            for k in 0..<depth {
                let x0 = p.loadUnaligned(as: SIMD16<Float>.self)
                a00.addProduct(SIMD16<Float>(repeating: W.float(w0[k])), x0)
                a10.addProduct(SIMD16<Float>(repeating: W.float(w1[k])), x0)
                a20.addProduct(SIMD16<Float>(repeating: W.float(w2[k])), x0)
                a30.addProduct(SIMD16<Float>(repeating: W.float(w3[k])), x0)
                a40.addProduct(SIMD16<Float>(repeating: W.float(w4[k])), x0)
                a50.addProduct(SIMD16<Float>(repeating: W.float(w5[k])), x0)
                a60.addProduct(SIMD16<Float>(repeating: W.float(w6[k])), x0)
                a70.addProduct(SIMD16<Float>(repeating: W.float(w7[k])), x0)
                p += step
            }
        }
        func store(_ lo: SIMD16<Float>, _ hi: SIMD16<Float>, _ o: Int) {
            guard o < count else { return }
            for r in 0..<rows {
                let v = r < 16 ? lo[r] : hi[r - 16]
                let target = out + r * outputs + o
                target.pointee = add ? target.pointee + v : v
            }
        }
        store(a00, a01, 0); store(a10, a11, 1); store(a20, a21, 2); store(a30, a31, 3)
        store(a40, a41, 4); store(a50, a51, 5); store(a60, a61, 6); store(a70, a71, 7)
    }
}

protocol Widen { static func float(_ bits: UInt16) -> Float }
enum BF16: Widen { @inline(__always) static func float(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) } }
enum FP16: Widen { @inline(__always) static func float(_ bits: UInt16) -> Float { Float(Float16(bitPattern: bits)) } }
