// The direct 3×3 convolution's inner kernel in sixteen-lane registers (see DarkroomTensor's `DirectConv3x3`). Same rules
// as AVX512Tiles: called only where `CPUFeatures.hasAVX512`, `@inline(never)` at the boundary.

/// Sixteen output channels × sixteen flattened positions per step: each input vector (one channel, one tap, sixteen
/// positions) is multiplied by sixteen broadcast weights, one fused multiply–add per accumulator.
public enum AVX512DirectConv {
    /// Output channels per block (the accumulators).
    public static let outputsPerBlock = 16

    /// `out[o·outStride + q] = Σ_c Σ_t weights[(c·taps + t)·16 + o] · input[c·planeStride + q + offsets[t]]` for
    /// q in `positions` (a multiple of 16) and o < `outputs` (≤ 16; the weight block is zero-padded to 16).
    @inline(never)
    public static func block(input: UnsafePointer<Float>, planeStride: Int, channels: Int, offsets: UnsafePointer<Int>, taps: Int,
                             weights: UnsafePointer<Float>, outputs: Int, positions: Range<Int>,
                             out: UnsafeMutablePointer<Float>, outStride: Int) {
        var q = positions.lowerBound
        while q < positions.upperBound {
            var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
            var a4 = SIMD16<Float>(), a5 = SIMD16<Float>(), a6 = SIMD16<Float>(), a7 = SIMD16<Float>()
            var a8 = SIMD16<Float>(), a9 = SIMD16<Float>(), a10 = SIMD16<Float>(), a11 = SIMD16<Float>()
            var a12 = SIMD16<Float>(), a13 = SIMD16<Float>(), a14 = SIMD16<Float>(), a15 = SIMD16<Float>()
            var w = weights
            for c in 0..<channels {
                let base = input + c * planeStride + q
                for t in 0..<taps {
                    let v = UnsafeRawPointer(base + offsets[t]).loadUnaligned(as: SIMD16<Float>.self)
                    a0.addProduct(SIMD16(repeating: w[0]), v); a1.addProduct(SIMD16(repeating: w[1]), v)
                    a2.addProduct(SIMD16(repeating: w[2]), v); a3.addProduct(SIMD16(repeating: w[3]), v)
                    a4.addProduct(SIMD16(repeating: w[4]), v); a5.addProduct(SIMD16(repeating: w[5]), v)
                    a6.addProduct(SIMD16(repeating: w[6]), v); a7.addProduct(SIMD16(repeating: w[7]), v)
                    a8.addProduct(SIMD16(repeating: w[8]), v); a9.addProduct(SIMD16(repeating: w[9]), v)
                    a10.addProduct(SIMD16(repeating: w[10]), v); a11.addProduct(SIMD16(repeating: w[11]), v)
                    a12.addProduct(SIMD16(repeating: w[12]), v); a13.addProduct(SIMD16(repeating: w[13]), v)
                    a14.addProduct(SIMD16(repeating: w[14]), v); a15.addProduct(SIMD16(repeating: w[15]), v)
                    w += 16
                }
            }
            let dst = out + q
            func put(_ o: Int, _ a: SIMD16<Float>) {
                if o < outputs { UnsafeMutableRawPointer(dst + o * outStride).storeBytes(of: a, as: SIMD16<Float>.self) }
            }
            put(0, a0); put(1, a1); put(2, a2); put(3, a3); put(4, a4); put(5, a5); put(6, a6); put(7, a7)
            put(8, a8); put(9, a9); put(10, a10); put(11, a11); put(12, a12); put(13, a13); put(14, a14); put(15, a15)
            q += 16
        }
    }
}
