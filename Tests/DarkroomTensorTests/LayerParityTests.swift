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
        for name in ["conv2d_3x3_s1_p1", "conv2d_3x3_s2_p1", "conv2d_1x1", "conv2d_5x3_s2_p2",
                     "conv2d_batch6_nobias", "conv2d_3x3_s1_p0"] {
            let f = try fixture(name)
            let bias = f.contains("bias") ? try f.tensor("bias") : nil
            let out = try Conv2d.forward(try f.tensor("x"), weight: try f.tensor("weight"), bias: bias,
                                         stride: intMeta(f, "stride"), padding: intMeta(f, "padding"))
            assertClose(out, try f.tensor("out"), name)
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
