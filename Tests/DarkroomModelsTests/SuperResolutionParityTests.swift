import XCTest
import Foundation
import DarkroomDiffusion
import DarkroomModels
import DarkroomTensor
import DarkroomTestSupport
import DarkroomJobModel

/// The stage II loop against diffusers' `IFSuperResolutionPipeline` (scripts/reference/make_if_stage2_fixtures.py,
/// `if2_pipe`): a tiny random stage II UNet, two images with their own prompts, the pipeline's random draws fed in.
final class SuperResolutionParityTests: XCTestCase {
    /// The fixture's upscaler, with the fixture's embeddings under the prompts "first" and "second" ("" negative).
    func fixture() throws -> (IFUpscaler, SafeTensorsFile) {
        let folder = Fixtures.path("if2_pipe")
        let file = try SafeTensorsFile(path: (folder as NSString).appendingPathComponent("pipeline.safetensors"))
        let positive = try file.tensor("prompt_embeds"), negative = try file.tensor("negative_prompt_embeds")
        let embeddings = try temporaryFolder(self).appendingPathComponent("prompts.safetensors").path
        try SafeTensorsWriter.write(["": negative.slice(batch: 0..<1).reshaped([77, 24]),
                                     "first": positive.slice(batch: 0..<1).reshaped([77, 24]),
                                     "second": positive.slice(batch: 1..<2).reshaped([77, 24])], to: embeddings)
        let prompts = try PromptEmbeddings(path: embeddings, width: 24)
        return (try IFUpscaler(folder: folder, prompts: prompts, name: "stage2"), file)
    }

    func testLoopMatchesDiffusersPipeline() throws {
        let (upscaler, file) = try fixture()
        let meta = file.metadata
        XCTAssertEqual(meta["timesteps"], "750,500,250,0")
        XCTAssertEqual(Array(SuperResolution.leadingTimesteps(steps: 4).dropLast()).map(String.init).joined(separator: ","), meta["timesteps"])
        let settings = UpscaleSettings(steps: Int(meta["steps"]!)!, guidance: Float(meta["guidance"]!)!, noiseLevel: Int(meta["noise_level"]!)!)
        var draws = try (0..<5).map { try file.tensor("noise_\($0)") }
        XCTAssertFalse(file.contains("noise_5"), "the pipeline drew more than x_T, the augmentation and 3 step noises")
        var steps: [Double] = []
        let out = try SuperResolution.upscale(
            try file.tensor("image"), with: upscaler,
            conditioning: [try upscaler.conditioning(forPrompt: "first"), try upscaler.conditioning(forPrompt: "second")],
            settings: settings,
            draw: { shape in
                let next = draws.removeFirst()
                XCTAssertEqual(next.shape, shape)
                return next
            },
            progress: { info in steps.append(info.t); return true })
        XCTAssertTrue(draws.isEmpty, "\(draws.count) recorded draws were not used")
        XCTAssertEqual(steps, [500, 250, 0, -250])
        assertClose(out, try file.tensor("out"), tolerance: 1e-3, "stage II loop")
    }

    func testGuidanceAtOrBelowOneAndNoPromptRunUnguidedAsThePipelineDoes() throws {
        let (upscaler, file) = try fixture()
        let image = try file.tensor("image").slice(batch: 0..<1)
        func run(_ prompt: String, _ guidance: Float) throws -> Tensor {
            var rng = RandomSource(seed: 3)
            return try SuperResolution.upscale(image, with: upscaler, conditioning: [try upscaler.conditioning(forPrompt: prompt)],
                                               settings: UpscaleSettings(steps: 2, guidance: guidance, noiseLevel: 100), draw: { rng.gaussian($0) })
        }
        // diffusers guides only when γ > 1; with no prompt both halves would be the same.
        XCTAssertEqual(maxAbsDifference(try run("first", 1), try run("first", 0.5)), 0)
        XCTAssertEqual(maxAbsDifference(try run("", 4), try run("", 1)), 0)
        XCTAssertGreaterThan(maxAbsDifference(try run("first", 4), try run("first", 1)), 1e-3)
    }

    func testTimestepsAreLeading() {
        XCTAssertEqual(SuperResolution.leadingTimesteps(steps: 20).prefix(3), [950, 900, 850])
        XCTAssertEqual(SuperResolution.leadingTimesteps(steps: 20).suffix(2), [0, -50])
        XCTAssertEqual(SuperResolution.leadingTimesteps(steps: 50).first, 980)
    }

    func testBadSettingsAreRefused() throws {
        let (upscaler, file) = try fixture()
        let image = try file.tensor("image").slice(batch: 0..<1)
        let c = [try upscaler.conditioning(forPrompt: "first")]
        var rng = RandomSource(seed: 1)
        for bad in [UpscaleSettings(steps: 2, guidance: 4, noiseLevel: 1000), UpscaleSettings(steps: 0, guidance: 4, noiseLevel: 250)] {
            XCTAssertThrowsError(try SuperResolution.upscale(image, with: upscaler, conditioning: c, settings: bad, draw: { rng.gaussian($0) }))
        }
    }

    func testAStageOneFolderIsNotAnUpscaler() throws {
        let prompts = try PromptEmbeddings(path: "/nonexistent.safetensors", width: 24)
        XCTAssertThrowsError(try IFUpscaler(folder: Fixtures.path("if_a"), prompts: prompts, name: "x")) { error in
            XCTAssertTrue("\(error)".contains("not a stage II"), "\(error)")
        }
        let wrongWidth = try PromptEmbeddings(path: "/nonexistent.safetensors", width: 4096)
        XCTAssertThrowsError(try IFUpscaler(folder: Fixtures.path("if2_pipe"), prompts: wrongWidth, name: "x")) { error in
            XCTAssertTrue("\(error)".contains("encoder_hid_dim"), "\(error)")
        }
    }
}
