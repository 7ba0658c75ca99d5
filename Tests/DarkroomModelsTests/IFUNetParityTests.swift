import XCTest
import Foundation
import DarkroomModels
import DarkroomTensor
import DarkroomTestSupport

/// DeepFloyd IF stage I's UNet against diffusers on small random IF-shaped models
/// (scripts/reference/make_if_fixtures.py).
final class IFUNetParityTests: XCTestCase {
    /// The fixture's forward, once per convolution backend this machine can run.
    func check(_ name: String, unet given: IFUNet? = nil, _ label: String = "", file: StaticString = #filePath, line: UInt = #line) throws {
        try ConvolutionBackends.each { backend in
            try checkForward(name, unet: given, "\(label) \(backend.rawValue)", file: file, line: line)
        }
    }

    func checkForward(_ name: String, unet given: IFUNet?, _ label: String, file: StaticString, line: UInt) throws {
        let folder = Fixtures.path(name)
        let unet = try given ?? IFUNet(folder: folder)
        let io = try SafeTensorsFile(path: (folder as NSString).appendingPathComponent("io.safetensors"))
        let sample = try io.tensor("sample"), states = try io.tensor("encoder_hidden_states")
        let timesteps = try io.int64Values("timestep").map(Float.init)
        let expected = try io.tensor("out")
        let out = try unet.forward(sample, timesteps: timesteps, encoderHiddenStates: states)
        assertClose(out, expected, tolerance: 1e-4, "\(name) \(label)", file: file, line: line)
        // Each sample alone gives the same rows as the batch.
        for b in 0..<sample.shape[0] where sample.shape[0] > 1 {
            let one = try unet.forward(sample.slice(batch: b..<(b + 1)), timesteps: [timesteps[b]],
                                       encoderHiddenStates: states.slice(batch: b..<(b + 1)))
            assertClose(one, expected.slice(batch: b..<(b + 1)), tolerance: 1e-4, "\(name) sample \(b)", file: file, line: line)
        }
    }

    func testFourBlocksOneLayerBatchTwo() throws { try check("if_a") }
    func testFP16WeightsNonSquareBatchOne() throws {
        // fp16 weights are read from the mapped file, widened per layer and their pages released after each use:
        // a second pass reads them again and must give the same result.
        let unet = try IFUNet(folder: Fixtures.path("if_b"))
        for pass in 1...2 { try check("if_b", unet: unet, "pass \(pass)") }
    }
    func testThreeBlocksThreeLayersBatchTwo() throws { try check("if_c") }

    func testSingleThreadedMatchesToo() throws {
        let saved = Engine.threads
        Engine.threads = 1
        defer { Engine.threads = saved }
        try check("if_a")
    }

    func testConfigErrorsNameTheKey() throws {
        let folder = try temporaryFolder(self)
        let source = Fixtures.path("if_a/unet/config.json")
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: source))) as! [String: Any]
        let cases: [(String, Any, String)] = [
            ("resnet_time_scale_shift", "default", "resnet_time_scale_shift"),
            ("act_fn", "silu", "act_fn"),
            ("only_cross_attention", true, "only_cross_attention"),
            ("down_block_types", ["ResnetDownsampleBlock2D", "CrossAttnDownBlock2D", "SimpleCrossAttnDownBlock2D", "SimpleCrossAttnDownBlock2D"], "down_block_types"),
            ("block_out_channels", [8, 16, 20, 32], "block_out_channels"),
        ]
        let path = folder.appendingPathComponent("config.json").path
        let original = object
        for (key, value, named) in cases {
            object = original
            object[key] = value
            try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try IFUNetConfig.load(path: path), key) { error in
                guard case ModelError.badConfig(_, let k, _) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(k, named)
            }
        }
    }

    func testMissingWeightsAreNamed() throws {
        let folder = try temporaryFolder(self)
        let unet = folder.appendingPathComponent("unet")
        try FileManager.default.createDirectory(at: unet, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Fixtures.path("if_a/unet/config.json"), toPath: unet.appendingPathComponent("config.json").path)
        XCTAssertThrowsError(try IFUNet(folder: folder.path)) { error in
            XCTAssertTrue("\(error)".contains("diffusion_pytorch_model.safetensors"), "\(error)")
        }
        // A weight file of another model: every problem is listed.
        try FileManager.default.copyItem(atPath: Fixtures.path("if_c/unet/diffusion_pytorch_model.safetensors"),
                                         toPath: unet.appendingPathComponent("diffusion_pytorch_model.safetensors").path)
        XCTAssertThrowsError(try IFUNet(folder: folder.path)) { error in
            guard case ModelError.checkpointMismatch(_, let missing, _, let misshaped) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(missing.contains("down_blocks.3.resnets.0.conv1.weight"), "\(missing.prefix(5))")
            XCTAssertFalse(misshaped.isEmpty)
        }
    }

    func testSizesThatAreNotMultiplesAreRefused() throws {
        let unet = try IFUNet(folder: Fixtures.path("if_a"))
        let states = Tensor(zeros: [1, 77, unet.config.encoderHidDim])
        XCTAssertThrowsError(try unet.forward(Tensor(zeros: [1, 3, 12, 16]), timesteps: [10], encoderHiddenStates: states))
    }
}
