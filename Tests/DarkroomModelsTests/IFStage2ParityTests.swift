import XCTest
import Foundation
import DarkroomModels
import DarkroomTensor
import DarkroomTestSupport

/// DeepFloyd IF stage II's UNet against diffusers on small random stage II-shaped models
/// (scripts/reference/make_if_stage2_fixtures.py): six input channels, per-level layer counts, the noise level's class
/// embedding, GELU on the summed embedding, resnet outputs divided by √2, levels with and without attention.
final class IFStage2ParityTests: XCTestCase {
    func check(_ name: String, unet given: IFUNet? = nil, _ label: String = "", file: StaticString = #filePath, line: UInt = #line) throws {
        let folder = Fixtures.path(name)
        let unet = try given ?? IFUNet(folder: folder)
        XCTAssertTrue(unet.config.isSuperResolution, file: file, line: line)
        let io = try SafeTensorsFile(path: (folder as NSString).appendingPathComponent("io.safetensors"))
        let sample = try io.tensor("sample"), states = try io.tensor("encoder_hidden_states")
        let timesteps = try io.int64Values("timestep").map(Float.init)
        let labels = try io.int64Values("class_labels").map(Float.init)
        let expected = try io.tensor("out")
        let out = try unet.forward(sample, timesteps: timesteps, classLabels: labels, encoderHiddenStates: states)
        assertClose(out, expected, tolerance: 1e-4, "\(name) \(label)", file: file, line: line)
        for b in 0..<sample.shape[0] where sample.shape[0] > 1 {
            let one = try unet.forward(sample.slice(batch: b..<(b + 1)), timesteps: [timesteps[b]], classLabels: [labels[b]],
                                       encoderHiddenStates: states.slice(batch: b..<(b + 1)))
            assertClose(one, expected.slice(batch: b..<(b + 1)), tolerance: 1e-4, "\(name) sample \(b)", file: file, line: line)
        }
    }

    func testFourLevelsUnevenLayersBatchTwo() throws {
        let unet = try IFUNet(folder: Fixtures.path("if2_a"))
        XCTAssertEqual(unet.config.layersPerBlock, [1, 2, 1, 2])
        XCTAssertEqual(unet.config.timeEmbeddingDim, 48)
        XCTAssertEqual(unet.config.resnetOutputScale, 1.4142271, accuracy: 1e-6)
        XCTAssertEqual(unet.config.midBlockOutputScale, 1.25)
        try check("if2_a", unet: unet)
    }

    func testFP16WeightsNonSquareBatchOne() throws { try check("if2_b") }

    func testIFIILLayoutFiveLevelsAttentionOnlyAtTheBottom() throws {
        let unet = try IFUNet(folder: Fixtures.path("if2_up"))
        XCTAssertEqual(unet.config.downBlockHasAttention, [false, false, false, true, true])
        XCTAssertEqual(unet.config.sampleSize, 256)
        try check("if2_up", unet: unet)
    }

    func testTheNoiseLevelChangesTheOutput() throws {
        // The class embedding is wired in: another noise level gives another prediction.
        let folder = Fixtures.path("if2_b")
        let unet = try IFUNet(folder: folder)
        let io = try SafeTensorsFile(path: (folder as NSString).appendingPathComponent("io.safetensors"))
        let sample = try io.tensor("sample"), states = try io.tensor("encoder_hidden_states")
        let a = try unet.forward(sample, timesteps: [500], classLabels: [0], encoderHiddenStates: states)
        let b = try unet.forward(sample, timesteps: [500], classLabels: [900], encoderHiddenStates: states)
        XCTAssertGreaterThan(zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? 0, 1e-3)
    }

    func testClassLabelsAreRequiredAndOnlyForStageTwo() throws {
        let stage2 = try IFUNet(folder: Fixtures.path("if2_b"))
        let states = Tensor(zeros: [1, 77, stage2.config.encoderHidDim])
        XCTAssertThrowsError(try stage2.forward(Tensor(zeros: [1, 6, 16, 16]), timesteps: [10], encoderHiddenStates: states)) { error in
            XCTAssertTrue("\(error)".contains("class_labels"), "\(error)")
        }
        let stage1 = try IFUNet(folder: Fixtures.path("if_a"))
        XCTAssertThrowsError(try stage1.forward(Tensor(zeros: [1, 3, 16, 16]), timesteps: [10], classLabels: [250],
                                                encoderHiddenStates: Tensor(zeros: [1, 77, stage1.config.encoderHidDim])))
    }

    func testShardedWeightsLoadLikeOneFile() throws {
        // diffusers splits large UNets into shards with an index; the fixture's fp16 file is split in two here.
        let folder = try temporaryFolder(self)
        let unet = folder.appendingPathComponent("unet")
        try FileManager.default.createDirectory(at: unet, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Fixtures.path("if2_b/unet/config.json"), toPath: unet.appendingPathComponent("config.json").path)
        let whole = try SafeTensorsFile(path: Fixtures.path("if2_b/unet/diffusion_pytorch_model.fp16.safetensors"))
        let names = whole.names
        var map: [String: String] = [:]
        for (k, part) in [names.prefix(names.count / 2), names.suffix(names.count - names.count / 2)].enumerated() {
            let shard = "diffusion_pytorch_model.fp16-0000\(k + 1)-of-00002.safetensors"
            var tensors: [String: Tensor] = [:]
            for name in part {
                tensors[name] = try whole.tensor(name)
                map[name] = shard
            }
            try SafeTensorsWriter.write(tensors, to: unet.appendingPathComponent(shard).path)
        }
        let index = try JSONSerialization.data(withJSONObject: ["metadata": [:] as [String: Any], "weight_map": map])
        try index.write(to: unet.appendingPathComponent("diffusion_pytorch_model.safetensors.index.fp16.json"))
        try check("if2_b", unet: try IFUNet(folder: folder.path), "shards")
    }

    func testStageTwoConfigErrorsNameTheKey() throws {
        let folder = try temporaryFolder(self)
        let source = Fixtures.path("if2_a/unet/config.json")
        let original = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: source))) as! [String: Any]
        let cases: [(String, Any, String)] = [
            ("layers_per_block", [1, 2, 1], "layers_per_block"),
            ("class_embed_type", "projection", "class_embed_type"),
            ("time_embedding_act_fn", "silu", "time_embedding_act_fn"),
            ("resnet_skip_time_act", false, "resnet_skip_time_act"),      // GELU twice
            ("resnet_out_scale_factor", -1, "resnet_out_scale_factor"),
            ("in_channels", 4, "in_channels"),
        ]
        let path = folder.appendingPathComponent("config.json").path
        for (key, value, named) in cases {
            var object = original
            object[key] = value
            try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try IFUNetConfig.load(path: path), key) { error in
                guard case ModelError.badConfig(_, let k, _) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(k, named)
            }
        }
    }
}
