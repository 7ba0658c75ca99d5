import XCTest
import DarkroomTensor
import DarkroomTestSupport

/// Every engine layer against PyTorch outputs made by scripts/reference/make_fixtures.py.
final class LayerParityTests: XCTestCase {
    private func fixture(_ name: String) throws -> SafeTensorsFile {
        try Fixtures.open("layers/\(name).safetensors")
    }

    private func intMeta(_ f: SafeTensorsFile, _ key: String) -> Int { Int(f.metadata[key]!)! }

    func testConv2dMatchesPyTorch() throws {
        try ConvolutionBackends.each { backend in
            for name in ["conv2d_3x3_s1_p1", "conv2d_3x3_s2_p1", "conv2d_1x1", "conv2d_5x3_s2_p2",
                         "conv2d_batch6_nobias", "conv2d_3x3_s1_p0"] {
                let f = try fixture(name)
                let bias = f.contains("bias") ? try f.tensor("bias") : nil
                let out = try Conv2d.forward(try f.tensor("x"), weight: try f.tensor("weight"), bias: bias,
                                             stride: intMeta(f, "stride"), padding: intMeta(f, "padding"))
                assertClose(out, try f.tensor("out"), "\(name) \(backend.rawValue)")
            }
        }
    }

    func testConv2dSingleThreadGivesSameResult() throws {
        let f = try fixture("conv2d_batch6_nobias")
        let saved = Engine.threads
        defer { Engine.threads = saved }
        Engine.threads = 1
        let out = try Conv2d.forward(try f.tensor("x"), weight: try f.tensor("weight"), bias: nil, stride: 1, padding: 1)
        assertClose(out, try f.tensor("out"))
    }

    func testTransposedConvMatchesPyTorch() throws {
        for name in ["convt_4x4_s2_p1", "convt_7x7_s7_p0", "convt_3x3_s1_p1"] {
            let f = try fixture(name)
            let out = try ConvTranspose2d.forward(try f.tensor("x"), weight: try f.tensor("weight"), bias: try f.tensor("bias"),
                                                  stride: intMeta(f, "stride"), padding: intMeta(f, "padding"))
            assertClose(out, try f.tensor("out"), name)
        }
    }

    func testLinearMatchesPyTorch() throws {
        for name in ["linear_2d", "linear_3d"] {
            let f = try fixture(name)
            let out = try Linear.forward(try f.tensor("x"), weight: try f.tensor("weight"), bias: try f.tensor("bias"))
            assertClose(out, try f.tensor("out"), name)
        }
    }

    func testNormsMatchPyTorch() throws {
        let bn = try fixture("batchnorm")
        let x = try bn.tensor("x").copy()
        try Normalization.batchNormInPlace(x, mean: try bn.tensor("mean"), variance: try bn.tensor("var"),
                                           weight: try bn.tensor("weight"), bias: try bn.tensor("bias"))
        assertClose(x, try bn.tensor("out"), "batchnorm")

        let gn = try fixture("groupnorm")
        let g = try Normalization.groupNorm(try gn.tensor("x"), groups: intMeta(gn, "groups"),
                                            weight: try gn.tensor("weight"), bias: try gn.tensor("bias"))
        assertClose(g, try gn.tensor("out"), "groupnorm")

        let ln = try fixture("layernorm")
        let l = try Normalization.layerNorm(try ln.tensor("x"), weight: try ln.tensor("weight"), bias: try ln.tensor("bias"),
                                            epsilon: Float(ln.metadata["eps"]!)!)
        assertClose(l, try ln.tensor("out"), "layernorm")
    }

    func testActivationsMatchPyTorch() throws {
        let g = try fixture("gelu")
        assertClose(Activation.gelu(try g.tensor("x")), try g.tensor("out"), tolerance: 1e-5, "gelu")
        let s = try fixture("silu")
        assertClose(Activation.silu(try s.tensor("x")), try s.tensor("out"), tolerance: 1e-5, "silu")
    }

    func testPoolingAndUpsamplingMatchPyTorch() throws {
        for name in ["avgpool_7", "avgpool_2"] {
            let f = try fixture(name)
            assertClose(try Pooling.averagePool(try f.tensor("x"), kernel: intMeta(f, "kernel")), try f.tensor("out"), name)
        }
        let u = try fixture("upsample_nearest2x")
        assertClose(try Pooling.upsampleNearest(try u.tensor("x")), try u.tensor("out"), tolerance: 0)
    }

    func testConcatAndBroadcastMatchPyTorch() throws {
        let c = try fixture("concat")
        assertClose(try Elementwise.concatChannels([try c.tensor("a"), try c.tensor("b")]), try c.tensor("out"), tolerance: 0)
        let a = try fixture("add_broadcast")
        assertClose(try Elementwise.add(try a.tensor("a"), try a.tensor("b")), try a.tensor("out"))
        for name in ["mul_broadcast", "mul_lastdim"] {
            let m = try fixture(name)
            assertClose(try Elementwise.multiply(try m.tensor("a"), try m.tensor("b")), try m.tensor("out"), name)
        }
    }

    func testSoftmaxAndAttentionMatchPyTorch() throws {
        let s = try fixture("softmax")
        assertClose(Softmax.lastDimension(try s.tensor("x")), try s.tensor("out"), tolerance: 1e-6)
        let a = try fixture("attention")
        let out = try Attention.multiHead(query: try a.tensor("q"), key: try a.tensor("k"), value: try a.tensor("v"),
                                          heads: intMeta(a, "heads"))
        assertClose(out, try a.tensor("out"))
    }

    func testGaussianBlurMatchesTorchvisionDefinition() throws {
        for name in ["gaussian_5_2", "gaussian_33_2"] {
            let f = try fixture(name)
            let out = try GaussianBlur.apply(try f.tensor("x"), size: intMeta(f, "size"), sigma: Float(f.metadata["sigma"]!)!)
            assertClose(out, try f.tensor("out"), name)
        }
    }
}

/// Attention fused per block of 64 queries, against plain attention in Double, with several blocks and a last partial
/// one, several heads, and more threads than pieces of work.
final class FusedAttentionTests: XCTestCase {
    /// softmax(q·kᵀ·scale)·v for one head, rows of q and k of length d.
    func reference(_ q: [[Double]], _ k: [[Double]], _ v: [[Double]], scale: Double) -> [[Double]] {
        q.map { qi in
            let logits = k.map { kj in zip(qi, kj).reduce(0) { $0 + $1.0 * $1.1 } * scale }
            let top = logits.max()!
            let e = logits.map { Foundation.exp($0 - top) }, total = e.reduce(0, +)
            return (0..<v[0].count).map { c in zip(e, v).reduce(0) { $0 + $1.0 * $1.1[c] } / total }
        }
    }

    func testTokenMajorMultiHeadMatchesPlainAttention() throws {
        var rng = RandomSource(seed: 31)
        let (batch, lq, lk, heads, d) = (2, 150, 90, 3, 8)
        let q = rng.gaussian([batch, lq, heads * d]), k = rng.gaussian([batch, lk, heads * d]), v = rng.gaussian([batch, lk, heads * d])
        let out = try Attention.multiHead(query: q, key: k, value: v, heads: heads)
        var worst = 0.0
        for b in 0..<batch {
            for h in 0..<heads {
                func rows(_ t: Tensor, _ count: Int) -> [[Double]] {
                    (0..<count).map { r in (0..<d).map { Double(t.pointer[(b * count + r) * heads * d + h * d + $0]) } }
                }
                let expected = reference(rows(q, lq), rows(k, lk), rows(v, lk), scale: 1 / Double(d).squareRoot())
                for r in 0..<lq {
                    for c in 0..<d {
                        let diff = abs(Double(out.pointer[(b * lq + r) * heads * d + h * d + c]) - expected[r][c])
                        if !(diff <= worst) { worst = diff }   // a NaN (an output never written) sticks
                    }
                }
            }
        }
        XCTAssertLessThan(worst, 1e-5)
    }

    func testEveryThreadCountSplitsTheWorkWithoutGaps() throws {
        // 2 samples × 3 heads × 1–5 blocks, as the thread count chooses the block: at many counts the last workers get
        // nothing, and a result must not depend on the split.
        var rng = RandomSource(seed: 33)
        let q = rng.gaussian([2, 150, 24]), k = rng.gaussian([2, 90, 24]), v = rng.gaussian([2, 90, 24])
        let saved = Engine.threads
        defer { Engine.threads = saved }
        Engine.threads = 1
        let serial = try Attention.multiHead(query: q, key: k, value: v, heads: 3)
        // Not bit for bit: OpenBLAS picks its GEMM path by the block's shape (on a Zen 2 EPYC, Haswell kernels, a block
        // of other rows rounds differently by an ulp). The bound is the arithmetic's: scores are dot products of 24
        // terms and each output a weighted sum of 90 values, so two summation orders differ by at most
        // 2·γ(24 + 90)·max|v|, with γ(n) = n·u/(1 − n·u), u = 2⁻²⁴. A gap (an output never written) is off by far more,
        // or NaN, which assertClose also catches.
        let n = Float(24 + 90), u = Float.ulpOfOne / 2
        let bound = 2 * (n * u / (1 - n * u)) * v.scalars.map(abs).max()!
        for threads in [2, 3, 4, 5, 7, 8, 17, 18, 19] {
            Engine.threads = threads
            assertClose(try Attention.multiHead(query: q, key: k, value: v, heads: 3), serial, tolerance: bound, "\(threads) threads")
        }
    }

    func testChannelMajorHeadsMatchPlainAttentionAtAnyThreadCount() throws {
        var rng = RandomSource(seed: 32)
        let (n, lk, heads, d) = (200, 77 + 200, 3, 8)
        let q = rng.gaussian([heads * d, n]), k = rng.gaussian([heads * d, lk]), v = rng.gaussian([heads * d, lk])
        var expected: [[[Double]]] = []
        for j in 0..<heads {
            func columns(_ t: Tensor, _ count: Int) -> [[Double]] {
                (0..<count).map { col in (0..<d).map { Double(t.pointer[(j * d + $0) * count + col]) } }
            }
            expected.append(reference(columns(q, n), columns(k, lk), columns(v, lk), scale: 0.3))
        }
        let saved = Engine.threads
        defer { Engine.threads = saved }
        for threads in [1, 2, 5, 8, 11, 40] {
            Engine.threads = threads
            let out = Tensor(repeating: .nan, shape: [heads * d, n])
            Attention.channelMajor(query: q.pointer, key: k.pointer, value: v.pointer, into: out.pointer, heads: heads, headDim: d,
                                   queries: n, keys: lk, scale: 0.3)
            var worst = 0.0
            for j in 0..<heads {
                for r in 0..<n {
                    for c in 0..<d {
                        let diff = abs(Double(out.pointer[(j * d + c) * n + r]) - expected[j][r][c])
                        if !(diff <= worst) { worst = diff }   // a NaN (an output never written) sticks
                    }
                }
            }
            XCTAssertLessThan(worst, 1e-5, "\(threads) threads")
            XCTAssertFalse(worst.isNaN, "every output written at \(threads) threads")
        }
    }
}
