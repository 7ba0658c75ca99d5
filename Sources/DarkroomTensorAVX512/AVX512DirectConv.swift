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

extension AVX512DirectConv {
    /// `grad[(o·channels + c)·9 + t] += Σ_s Σ_q dy[s·dySample + o·dyStride + q] · input[s·inputSample + c·planeStride + q +
    /// offsets[t]]` over `samples` samples and q below `positions` (a multiple of 16), for every o < `outputs`,
    /// c < `channels` and t < 9. Three output channels and one input channel at a time: 27 accumulators, 3 + 9 loads
    /// per 27 fused multiply–adds, summed across lanes once per group of samples.
    @inline(never)
    public static func weightGradient(input: UnsafePointer<Float>, planeStride: Int, channels: Int, offsets: UnsafePointer<Int>,
                                      dy: UnsafePointer<Float>, dyStride: Int, outputs: Int, positions: Int,
                                      samples: Int, inputSample: Int, dySample: Int, grad: UnsafeMutablePointer<Float>) {
        let (f0, f1, f2, f3, f4, f5, f6, f7, f8) = (offsets[0], offsets[1], offsets[2], offsets[3], offsets[4], offsets[5],
                                                    offsets[6], offsets[7], offsets[8])
        var o0 = 0
        while o0 < outputs {
            let rows = min(3, outputs - o0)
            let d0 = dy + o0 * dyStride, d1 = rows > 1 ? d0 + dyStride : d0, d2 = rows > 2 ? d0 + 2 * dyStride : d0
            for c in 0..<channels {
                let base = input + c * planeStride
                var a00 = SIMD16<Float>(), a01 = SIMD16<Float>(), a02 = SIMD16<Float>(), a03 = SIMD16<Float>(), a04 = SIMD16<Float>()
                var a05 = SIMD16<Float>(), a06 = SIMD16<Float>(), a07 = SIMD16<Float>(), a08 = SIMD16<Float>()
                var a10 = SIMD16<Float>(), a11 = SIMD16<Float>(), a12 = SIMD16<Float>(), a13 = SIMD16<Float>(), a14 = SIMD16<Float>()
                var a15 = SIMD16<Float>(), a16 = SIMD16<Float>(), a17 = SIMD16<Float>(), a18 = SIMD16<Float>()
                var a20 = SIMD16<Float>(), a21 = SIMD16<Float>(), a22 = SIMD16<Float>(), a23 = SIMD16<Float>(), a24 = SIMD16<Float>()
                var a25 = SIMD16<Float>(), a26 = SIMD16<Float>(), a27 = SIMD16<Float>(), a28 = SIMD16<Float>()
                for s in 0..<samples {
                    let (e0, e1, e2, sampleBase) = (d0 + s * dySample, d1 + s * dySample, d2 + s * dySample, base + s * inputSample)
                    var q = 0
                    while q < positions {
                        let g0 = UnsafeRawPointer(e0 + q).loadUnaligned(as: SIMD16<Float>.self)
                        let g1 = UnsafeRawPointer(e1 + q).loadUnaligned(as: SIMD16<Float>.self)
                        let g2 = UnsafeRawPointer(e2 + q).loadUnaligned(as: SIMD16<Float>.self)
                        let p = sampleBase + q
                        var v = UnsafeRawPointer(p + f0).loadUnaligned(as: SIMD16<Float>.self)
                        a00.addProduct(g0, v); a10.addProduct(g1, v); a20.addProduct(g2, v)
                        v = UnsafeRawPointer(p + f1).loadUnaligned(as: SIMD16<Float>.self)
                        a01.addProduct(g0, v); a11.addProduct(g1, v); a21.addProduct(g2, v)
                        v = UnsafeRawPointer(p + f2).loadUnaligned(as: SIMD16<Float>.self)
                        a02.addProduct(g0, v); a12.addProduct(g1, v); a22.addProduct(g2, v)
                        v = UnsafeRawPointer(p + f3).loadUnaligned(as: SIMD16<Float>.self)
                        a03.addProduct(g0, v); a13.addProduct(g1, v); a23.addProduct(g2, v)
                        v = UnsafeRawPointer(p + f4).loadUnaligned(as: SIMD16<Float>.self)
                        a04.addProduct(g0, v); a14.addProduct(g1, v); a24.addProduct(g2, v)
                        v = UnsafeRawPointer(p + f5).loadUnaligned(as: SIMD16<Float>.self)
                        a05.addProduct(g0, v); a15.addProduct(g1, v); a25.addProduct(g2, v)
                        v = UnsafeRawPointer(p + f6).loadUnaligned(as: SIMD16<Float>.self)
                        a06.addProduct(g0, v); a16.addProduct(g1, v); a26.addProduct(g2, v)
                        v = UnsafeRawPointer(p + f7).loadUnaligned(as: SIMD16<Float>.self)
                        a07.addProduct(g0, v); a17.addProduct(g1, v); a27.addProduct(g2, v)
                        v = UnsafeRawPointer(p + f8).loadUnaligned(as: SIMD16<Float>.self)
                        a08.addProduct(g0, v); a18.addProduct(g1, v); a28.addProduct(g2, v)
                        q += 16
                    }
                    }
                    func add(_ row: Int, _ t: Int, _ a: SIMD16<Float>) {
                        if row < rows { grad[((o0 + row) * channels + c) * 9 + t] += a.sum() }
                    }
                    add(0, 0, a00); add(0, 1, a01); add(0, 2, a02); add(0, 3, a03); add(0, 4, a04); add(0, 5, a05); add(0, 6, a06); add(0, 7, a07); add(0, 8, a08)
                    add(1, 0, a10); add(1, 1, a11); add(1, 2, a12); add(1, 3, a13); add(1, 4, a14); add(1, 5, a15); add(1, 6, a16); add(1, 7, a17); add(1, 8, a18)
                    add(2, 0, a20); add(2, 1, a21); add(2, 2, a22); add(2, 3, a23); add(2, 4, a24); add(2, 5, a25); add(2, 6, a26); add(2, 7, a27); add(2, 8, a28)
                }
                o0 += 3
            }
        }
    }
