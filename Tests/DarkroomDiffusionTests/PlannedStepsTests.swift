import XCTest
import DarkroomDiffusion
import DarkroomModels
import DarkroomTensor
import DarkroomJobModel

/// A job's progress counts to exactly the number of sampler steps the editor plans, in every mode.
final class PlannedStepsTests: XCTestCase {
    func testPlannedStepsEqualTheStepsEveryModeTakes() throws {
        for objective in ["ddpm", "flow"] {
            let config = TinyUNetConfig(channels: 1, hidden: 4, classes: ["cat", "dog"], objective: objective)
            let denoiser = try TinyUNetDenoiser(TinyUNet(config: config, randomSeed: 5))
            var rng = RandomSource(seed: 3)
            let image = rng.uniform([1, 1, 28, 28])
            let mask = Tensor(zeros: [1, 1, 28, 28])
            for i in 0..<(28 * 14) { mask.pointer[i] = 1 }
            let modes: [EditMode] = objective == "flow" ? [.generate, .sdedit] : EditMode.allCases
            for mode in modes {
                for variant in 0..<2 {
                    var r = EditRequest(mode: mode)
                    r.stride = variant == 0 ? 50 : 37
                    r.steps = objective == "flow" ? 12 : nil
                    r.prompt = "a cat"
                    r.prompts = ["a cat", "a dog"]
                    r.count = 2
                    r.t = [40, 200]
                    if mode == .sdedit { if variant == 0 { r.noiseLevels = [1, 3] } else { r.strength = 0.7 } }
                    var calls = 0
                    let editor = Editor(denoiser: denoiser) { _, _ in calls += 1; return true }
                    _ = try editor.run(r, image: image, mask: mask)
                    XCTAssertEqual(editor.plannedSteps(r), calls, "\(objective) \(mode.rawValue) variant \(variant)")
                }
            }
        }
    }
}
