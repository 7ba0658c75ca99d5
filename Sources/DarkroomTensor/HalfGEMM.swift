import DarkroomSupport
import DarkroomTensorAVX512

/// `out[r][o] (+)= Σ_k x[r][k] · W[o][k]` for a weight W [O, K] kept in 16 bits, in Float32 with fused multiply–adds:
/// the product a text encoder's linear layers are made of (few rows, large weights).
///
/// No Float32 copy of W exists whole: weight rows are split across threads in blocks of 96, used by every tile of x
/// before the next block. x is packed once by tiles of rows, each transposed ([tile][K][rows per tile]), so a tile is
/// read front to back as vectors. Where the CPU has AVX-512 the tile is 8 weight rows × 32 rows of x (16 sixteen-lane
/// accumulators), each 16-bit weight widened in a register and broadcast; elsewhere 6 × 16 (12 eight-lane
/// accumulators) over the block widened into the thread's scratch. Measured on the T5 encoder's shapes (77 rows,
/// K 4096 and 10240): chunking K to keep tiles in L2 was slower (the partial sums' scattered read–modify–writes cost
/// more than the cache misses they save).
enum HalfGEMM {
    static let weightBlock = 96

    /// `wide`: the AVX-512 kernel (only where `CPUFeatures.hasAVX512`); else the eight-lane one.
    static func multiply(x: UnsafePointer<Float>, rows: Int, weight: UnsafePointer<UInt16>, format: WeightTensor.HalfFormat,
                         outputs: Int, inputs: Int, into out: UnsafeMutablePointer<Float>, accumulate: Bool) {
        multiply(x: x, rows: rows, weight: weight, format: format, outputs: outputs, inputs: inputs, into: out, accumulate: accumulate,
                 wide: CPUFeatures.hasAVX512)
    }

    static func multiply(x: UnsafePointer<Float>, rows: Int, weight: UnsafePointer<UInt16>, format: WeightTensor.HalfFormat,
                         outputs: Int, inputs: Int, into out: UnsafeMutablePointer<Float>, accumulate: Bool, wide: Bool) {
        // Rows of x and of W per tile: 32 × 8 in sixteen-lane registers, else 16 × 6 in eight-lane ones.
        let rowTile = wide ? 32 : 16, weightTile = wide ? AVX512Tiles.weightRows : 6
        // x by tiles of rows, each tile transposed: packed[tile][k][rowTile], so a tile's x is read front to back.
        let padded = (rows + rowTile - 1) / rowTile * rowTile
        let packed = UnsafeMutablePointer<Float>.allocate(capacity: padded * inputs)
        defer { packed.deallocate() }
        packed.initialize(repeating: 0, count: padded * inputs)
        for r in 0..<rows {
            let row = x + r * inputs
            let column = packed + (r / rowTile) * rowTile * inputs + r % rowTile
            for k in 0..<inputs { column[k * rowTile] = row[k] }
        }
        let blocks = (outputs + weightBlock - 1) / weightBlock
        let run = { (block: Int) in
            let first = block * weightBlock, last = min(outputs, first + weightBlock)
            // The eight-lane kernel reads the block widened into the thread's scratch; the AVX-512 one widens as it goes.
            let scratch = wide ? nil : ScratchBuffer.forCurrentThread(count: weightBlock * inputs)
            if let scratch {
                for o in first..<last {
                    let source = weight + o * inputs, target = scratch.pointer + (o - first) * inputs
                    switch format {
                    case .bf16: HalfPrecision.widenBFloat16(source, into: target, count: inputs)
                    case .fp16: HalfPrecision.widenHalf(source, into: target, count: inputs)
                    }
                }
            }
            var r0 = 0
            while r0 < rows {
                var o0 = first
                while o0 < last {
                    let (tileRows, count) = (min(rowTile, rows - r0), min(weightTile, last - o0))
                    let (x, o) = (packed + r0 * inputs, out + r0 * outputs + o0)
                    if let scratch {
                        Tile(packed: x, stride: rowTile, rows: tileRows, weight: scratch.pointer + (o0 - first) * inputs, count: count,
                             depth: inputs, out: o, outputs: outputs, add: accumulate).run()
                    } else {
                        AVX512Tiles.tile(packed: x, stride: rowTile, rows: tileRows, weight: weight + o0 * inputs, count: count, depth: inputs,
                                         out: o, outputs: outputs, add: accumulate, brain: format == .bf16)
                    }
                    o0 += weightTile
                }
                r0 += rowTile
            }
        }
        if blocks == 1 || isSerialThread || Engine.threads == 1 {
            for b in 0..<blocks { run(b) }
        } else {
            performConcurrently(blocks, run)
        }
    }

    /// One tile: `count` (≤ 6) widened weight rows of `depth` values × `rows` (≤ 16) rows of x.
    struct Tile {
        let packed: UnsafePointer<Float>, stride: Int, rows: Int
        let weight: UnsafePointer<Float>, count: Int, depth: Int
        let out: UnsafeMutablePointer<Float>, outputs: Int, add: Bool

        @inline(__always)
        func run() {
            // Missing weight rows repeat the first one; their sums are not stored.
            let w0 = weight
            let w1 = count > 1 ? weight + depth : w0, w2 = count > 2 ? weight + 2 * depth : w0
            let w3 = count > 3 ? weight + 3 * depth : w0, w4 = count > 4 ? weight + 4 * depth : w0
            let w5 = count > 5 ? weight + 5 * depth : w0
            var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a10 = SIMD8<Float>(), a11 = SIMD8<Float>()
            var a20 = SIMD8<Float>(), a21 = SIMD8<Float>(), a30 = SIMD8<Float>(), a31 = SIMD8<Float>()
            var a40 = SIMD8<Float>(), a41 = SIMD8<Float>(), a50 = SIMD8<Float>(), a51 = SIMD8<Float>()
            var p = UnsafeRawPointer(packed)
            let step = stride * 4
            for k in 0..<depth {
                let x0 = p.loadUnaligned(as: SIMD8<Float>.self)
                let x1 = p.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
                var b = SIMD8<Float>(repeating: w0[k])
                a00.addProduct(b, x0); a01.addProduct(b, x1)
                b = SIMD8<Float>(repeating: w1[k])
                a10.addProduct(b, x0); a11.addProduct(b, x1)
                b = SIMD8<Float>(repeating: w2[k])
                a20.addProduct(b, x0); a21.addProduct(b, x1)
                b = SIMD8<Float>(repeating: w3[k])
                a30.addProduct(b, x0); a31.addProduct(b, x1)
                b = SIMD8<Float>(repeating: w4[k])
                a40.addProduct(b, x0); a41.addProduct(b, x1)
                b = SIMD8<Float>(repeating: w5[k])
                a50.addProduct(b, x0); a51.addProduct(b, x1)
                p += step
            }
            store(a00, a01, 0); store(a10, a11, 1); store(a20, a21, 2)
            store(a30, a31, 3); store(a40, a41, 4); store(a50, a51, 5)
        }

        /// Writes (or adds) the sums of weight row `o` for the tile's rows of x.
        @inline(__always)
        private func store(_ lo: SIMD8<Float>, _ hi: SIMD8<Float>, _ o: Int) {
            guard o < count else { return }
            for r in 0..<rows {
                let v = r < 8 ? lo[r] : hi[r - 8]
                let target = out + r * outputs + o
                target.pointee = add ? target.pointee + v : v
            }
        }
    }
}
