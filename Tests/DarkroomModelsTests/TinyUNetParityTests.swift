import XCTest
import DarkroomModels
import DarkroomTensor
import DarkroomTestSupport

/// The whole small UNet against PyTorch (scripts/reference/make_fixtures.py), and checkpoint error reporting.
final class TinyUNetParityTests: XCTestCase {
    private func check(_ name: String) throws {
        let folder = Fixtures.path(name)
        let model = try TinyUNet(checkpoint: folder)
        let io = try SafeTensorsFile(path: folder + "/io.safetensors")
        let c = io.contains("c") ? try io.tensor("c") : nil
        // Every convolution backend a measurement may choose here keeps parity.
        try ConvolutionBackends.each { backend in
            let out = try model.forward(try io.tensor("x"), t: try io.tensor("t"), c: c)
            assertClose(out, try io.tensor("out"), tolerance: 1e-4, "\(name) \(backend.rawValue)")
        }
    }

    func testClassConditionedOneChannelMatchesPyTorch() throws {
        try check("unet_class_c1_d8_k10")
    }

    func testTimeOnlyThreeChannelMatchesPyTorch() throws {
        try check("unet_time_c3_d6")
    }

    func testBatchElementsAreIndependent() throws {
        let folder = Fixtures.path("unet_class_c1_d8_k10")
        let model = try TinyUNet(checkpoint: folder)
        let io = try SafeTensorsFile(path: folder + "/io.safetensors")
        let (x, t, c) = (try io.tensor("x"), try io.tensor("t"), try io.tensor("c"))
        let whole = try model.forward(x, t: t, c: c)
        let second = try model.forward(x.slice(batch: 1..<2), t: t.slice(batch: 1..<2), c: c.slice(batch: 1..<2))
        assertClose(second, whole.slice(batch: 1..<2), tolerance: 1e-5)
    }

    func testCheckpointProblemsAreReportedByName() throws {
        let source = Fixtures.path("unet_time_c3_d6")
        let dir = try temporaryFolder(self)
        let original = try SafeTensorsFile(path: source + "/model.safetensors")
        var tensors: [String: Tensor] = [:]
        for name in original.names where !name.hasSuffix("num_batches_tracked") { tensors[name] = try original.tensor(name).copy() }
        tensors["down1.down.conv.bias"] = nil
        tensors["out_conv.weight"] = Tensor(zeros: [3, 6, 5, 5])
        tensors["extra.weight"] = Tensor(zeros: [1])
        try SafeTensorsWriter.write(tensors, to: dir.appendingPathComponent("model.safetensors").path)
        try FileManager.default.copyItem(atPath: source + "/config.json", toPath: dir.appendingPathComponent("config.json").path)
        XCTAssertThrowsError(try TinyUNet(checkpoint: dir.path)) { error in
            guard case let ModelError.checkpointMismatch(_, missing, unexpected, misshaped) = error else {
                return XCTFail("unexpected error \(error)")
            }
            XCTAssertEqual(missing, ["down1.down.conv.bias"])
            XCTAssertEqual(unexpected, ["extra.weight"])
            XCTAssertEqual(misshaped.count, 1)
            XCTAssertTrue(misshaped[0].contains("out_conv.weight"))
        }
    }

    func testConfigRejectsUnknownKeysAndBadValues() throws {
        let dir = try temporaryFolder(self)
        let path = dir.appendingPathComponent("config.json").path
        func expect(_ json: String, key: String?, line: UInt = #line) throws {
            try json.write(toFile: path, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try TinyUNetConfig.load(path: path), line: line) { error in
                guard case let ModelError.badConfig(_, k, _) = error else { return XCTFail("\(error)", line: line) }
                XCTAssertEqual(k, key, line: line)
            }
        }
        try expect(#"{"architecture":"cs180-unet","channels":1,"hidden":8,"colour":"red"}"#, key: "colour")
        try expect(#"{"architecture":"cs180-unet","channels":1}"#, key: "hidden")
        try expect(#"{"architecture":"cs180-unet","channels":1,"hidden":8,"image_size":32}"#, key: "image_size")
        try expect(#"{"architecture":"other","channels":1,"hidden":8}"#, key: "architecture")
        try expect(#"{"architecture":"cs180-unet","channels":"one","hidden":8}"#, key: "channels")
        try expect(#"{"architecture":"cs180-unet","channels":1,"hidden":8,"variance":"large"}"#, key: "variance")
        try expect(#"{"architecture":"cs180-unet","channels":1,"hidden":8,"default_guidance":-1}"#, key: "default_guidance")
        try #"{"architecture":"cs180-unet","channels":1,"hidden":8,"classes":["a","b"]}"#.write(toFile: path, atomically: true, encoding: .utf8)
        let config = try TinyUNetConfig.load(path: path)
        XCTAssertEqual(config.classCount, 2)
        XCTAssertEqual(config.timesteps, 300)
        XCTAssertEqual(config.variance, "beta_at_unit_stride")
        XCTAssertNil(config.defaultGuidance)

        try #"{"architecture":"cs180-unet","channels":1,"hidden":4,"classes":["a"],"variance":"beta","default_guidance":2.5}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        let chosen = try TinyUNetConfig.load(path: path)
        let denoiser = try TinyUNetDenoiser(TinyUNet(config: chosen, randomSeed: 1))
        XCTAssertEqual(denoiser.variance, .fixedLarge)
        XCTAssertEqual(denoiser.defaultGuidance, 2.5)
        XCTAssertEqual(try TinyUNetDenoiser(TinyUNet(config: chosen, randomSeed: 1), variance: .fixedSmall).variance, .fixedSmall)
    }

    func testBadInputsAreErrors() throws {
        let model = TinyUNet(config: TinyUNetConfig(channels: 1, hidden: 4, classes: ["a", "b"]), randomSeed: 1)
        let x = Tensor(zeros: [2, 1, 28, 28])
        XCTAssertThrowsError(try model.forward(Tensor(zeros: [2, 3, 28, 28]), t: Tensor(zeros: [2, 1])))
        XCTAssertThrowsError(try model.forward(x, t: Tensor(zeros: [2])))
        XCTAssertThrowsError(try model.forward(x, t: Tensor(zeros: [2, 1]), c: Tensor(zeros: [2, 3])))
        XCTAssertEqual(try model.forward(x, t: Tensor(zeros: [2, 1])).shape, [2, 1, 28, 28])
    }
}
