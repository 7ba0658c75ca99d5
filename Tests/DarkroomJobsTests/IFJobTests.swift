import XCTest
import DarkroomDiffusion
import DarkroomImaging
import DarkroomJobs
import DarkroomModels
import DarkroomTensor
import DarkroomTestSupport
import DarkroomSupport

/// Every edit mode end to end on a DeepFloyd IF-shaped random model (the diffusers fixture `if_a`: 16×16 RGB,
/// text width 24) with a prompt-embedding file, through the same JobRunner the daemon uses.
final class IFJobTests: XCTestCase {
    static let prompts = ["", "a photo of a dog", "an oil painting of a snowy mountain village", "a rocket ship"]

    /// config.json naming the IF model with its embedding file, an inbox with a photo and a mask.
    private func workspace(defaults: String = "") throws -> (URL, DarkroomConfig) {
        try ifWorkspace(self, prompts: IFJobTests.prompts, entry: defaults)
    }

    private func run(_ sidecar: String, named name: String = "photo", in dir: URL, _ config: DarkroomConfig) throws -> JobRunner.Result {
        let path = dir.appendingPathComponent("inbox/\(name).json")
        try sidecar.write(to: path, atomically: true, encoding: .utf8)
        return try JobRunner(config: config).run(sidecarPath: path.path, outFolder: dir.appendingPathComponent("out-\(name)").path)
    }

    func testEveryModeRunsOnAnIFModel() throws {
        let (dir, config) = try workspace()
        let jobs: [(String, String, Int)] = [
            ("generate", #"{"prompt": "a photo of a dog", "count": 2, "stride": 90, "seed": 1}"#, 2),
            ("noise", #"{"mode": "noise", "image": "photo.png", "t": [250, 500], "seed": 2}"#, 2),
            ("denoise", #"{"mode": "denoise", "image": "photo.png", "t": [500], "prompt": "a rocket ship", "stride": 90, "seed": 3}"#, 1),
            ("sdedit", #"{"mode": "sdedit", "image": "photo.png", "prompt": "a rocket ship", "stride": 90, "noise_levels": [3, 8], "seed": 4}"#, 2),
            ("strength", #"{"mode": "sdedit", "image": "photo.png", "prompt": "a photo of a dog", "strength": 0.5, "stride": 90, "seed": 5}"#, 1),
            ("inpaint", #"{"mode": "inpaint", "image": "photo.png", "mask": "mask.png", "prompt": "a photo of a dog", "stride": 90, "seed": 6}"#, 1),
            ("anagram", #"{"mode": "anagram", "prompts": ["an oil painting of a snowy mountain village", "a photo of a dog"], "stride": 90, "seed": 7}"#, 1),
            ("hybrid", #"{"mode": "hybrid", "prompts": ["A Rocket Ship", "a photo of a dog"], "stride": 90, "seed": 8}"#, 1),
        ]
        for (name, sidecar, expectedResults) in jobs {
            let result = try run(sidecar, named: name, in: dir, config)
            XCTAssertEqual(result.model, "tiny-if")
            let resultFiles = result.outputs.map(\.path).filter { ($0 as NSString).lastPathComponent.hasPrefix("result") }
            XCTAssertEqual(resultFiles.count, expectedResults, name)
            let images = try resultFiles.map { try ImageDecoder.read(path: $0, channels: 3) }
            for image in images { XCTAssertEqual(image.shape, [1, 3, 16, 16], name) }
            if images.count == 2 {
                XCTAssertGreaterThan(maxAbsDifference(images[0], images[1]), 0.1, "\(name): two results differ")
            }
            if name != "noise" { XCTAssertTrue(result.outputs.contains { $0.path.hasSuffix("progress.gif") }, name) }
        }
    }

    func testIFDefaultsAreTheCourseLoop() throws {
        let (dir, config) = try workspace()
        let path = dir.appendingPathComponent("inbox/g.json")
        try #"{"prompt": "a photo of a dog"}"#.write(to: path, atomically: true, encoding: .utf8)
        let prepared = try JobRunner(config: config).prepare(sidecarPath: path.path)
        XCTAssertEqual(prepared.request.guidance, 7)
        XCTAssertEqual(prepared.request.stride, 30)
        let denoiser = try JobRunner(config: config).denoiser("tiny-if")
        XCTAssertEqual(denoiser.defaultTimesteps.first, 990)
        XCTAssertEqual(denoiser.defaultTimesteps.count, 34)
        XCTAssertEqual(denoiser.pixelRange, -1...1)

        // A model entry's defaults come before the model's own.
        let (dir2, config2) = try workspace(defaults: #", "defaults": {"guidance": 3, "stride": 45}"#)
        let path2 = dir2.appendingPathComponent("inbox/g.json")
        try #"{"prompt": "a photo of a dog"}"#.write(to: path2, atomically: true, encoding: .utf8)
        let p2 = try JobRunner(config: config2).prepare(sidecarPath: path2.path)
        XCTAssertEqual(p2.request.guidance, 3)
        XCTAssertEqual(p2.request.stride, 45)
    }

    func testAPromptWithoutEmbeddingIsRejectedWithTheAvailableOnes() throws {
        let (dir, config) = try workspace()
        let path = dir.appendingPathComponent("inbox/g.json")
        try #"{"prompt": "a photo of a cat"}"#.write(to: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try JobRunner(config: config).prepare(sidecarPath: path.path)) { error in
            guard let e = error as? JobError else { return XCTFail("\(error)") }
            XCTAssertEqual(e.field, "prompt")
            let text = "\(e)"
            XCTAssertTrue(text.contains("\"a photo of a dog\""), text)
            XCTAssertTrue(text.contains("darkroom encode --model"), text)
            XCTAssertTrue(text.contains("tokenizer/ and text_encoder/"), "says how to let Darkroom encode: \(text)")
        }
    }

    func testSameSeedSameBytes() throws {
        let (dir, config) = try workspace()
        let sidecar = #"{"prompt": "a photo of a dog", "stride": 90, "seed": 9}"#
        let a = try run(sidecar, named: "a", in: dir, config), b = try run(sidecar, named: "b", in: dir, config)
        let ra = try Data(contentsOf: URL(fileURLWithPath: a.outputs.first { $0.path.hasSuffix("result.png") }!.path))
        let rb = try Data(contentsOf: URL(fileURLWithPath: b.outputs.first { $0.path.hasSuffix("result.png") }!.path))
        XCTAssertEqual(ra, rb)
    }
}
