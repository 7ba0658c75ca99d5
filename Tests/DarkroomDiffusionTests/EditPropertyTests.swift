import XCTest
import DarkroomDiffusion
import DarkroomModels
import DarkroomTensor
import DarkroomTestSupport
import DarkroomJobModel

/// Properties every edit must have, on a small random class-conditioned UNet.
final class EditPropertyTests: XCTestCase {
    private func model(objective: String = "ddpm") throws -> TinyUNetDenoiser {
        let config = TinyUNetConfig(channels: 1, hidden: 4, classes: ["cat", "dog", "bird"], objective: objective)
        return try TinyUNetDenoiser(TinyUNet(config: config, randomSeed: 11))
    }

    private func request(_ mode: EditMode, seed: UInt64 = 1) -> EditRequest {
        var r = EditRequest(mode: mode)
        r.stride = 30
        r.seed = seed
        r.prompt = "a cat"
        return r
    }

    private func image() -> Tensor {
        var rng = RandomSource(seed: 9)
        return rng.uniform([1, 1, 28, 28])
    }

    func testGuidanceOfOneEqualsTheConditionalEstimate() throws {
        let d = try model()
        var rng = RandomSource(seed: 2)
        let x = rng.gaussian([2, 1, 28, 28])
        let cond: [Conditioning] = [.classIndex(0), .classIndex(2)]
        let guided = try Guidance.guided(d, x, t: 120, conditioning: cond, scale: 1).output
        let plain = try d.predict(x, t: 120, conditioning: cond).output
        XCTAssertEqual(guided.scalars, plain.scalars)
        // γ = 0 is the unconditional estimate, and guidance moves away from it linearly.
        let uncond = try d.predict(x, t: 120, conditioning: [.none, .none]).output
        assertClose(try Guidance.guided(d, x, t: 120, conditioning: cond, scale: 0).output, uncond, tolerance: 1e-5)
        let g3 = try Guidance.guided(d, x, t: 120, conditioning: cond, scale: 3).output
        for i in 0..<g3.count {
            XCTAssertEqual(g3.pointer[i], uncond.pointer[i] + 3 * (plain.pointer[i] - uncond.pointer[i]), accuracy: 1e-4)
        }
    }

    func testAnagramWithIdenticalPromptsIsFlipEquivariant() throws {
        let d = try model()
        let c: [Conditioning] = [.classIndex(1)]
        let estimator = EditEstimators.anagram(d, c, c, view: .flip, weight: 0.5, guidance: 3)
        var rng = RandomSource(seed: 5)
        let x = rng.gaussian([1, 1, 28, 28])
        let direct = try estimator(ImageView.flip.apply(x), 200).output
        let flipped = ImageView.flip.apply(try estimator(x, 200).output)
        assertClose(direct, flipped, tolerance: 1e-5)
    }

    func testViewsAreInvertible() {
        var rng = RandomSource(seed: 6)
        let x = rng.gaussian([2, 3, 5, 5])
        for view in ImageView.allCases {
            XCTAssertEqual(view.inverse.apply(view.apply(x)).scalars, x.scalars, "\(view)")
        }
        XCTAssertNotEqual(ImageView.rotate90.apply(x).scalars, ImageView.rotate270.apply(x).scalars)
    }

    func testHybridWithIdenticalPromptsEqualsThePlainEstimate() throws {
        let d = try model()
        let c: [Conditioning] = [.classIndex(2)]
        var rng = RandomSource(seed: 7)
        let x = rng.gaussian([1, 1, 28, 28])
        let hybrid = try EditEstimators.hybrid(d, c, c, kernel: 33, sigma: 2, guidance: 4)(x, 150).output
        let plain = try Guidance.guided(d, x, t: 150, conditioning: c, scale: 4).output
        assertClose(hybrid, plain, tolerance: 1e-5)
    }

    func testInpaintKeepsTheUnmaskedRegion() throws {
        let d = try model()
        let original = image()
        let mask = Tensor(zeros: [1, 1, 28, 28])
        for y in 8..<20 { for x in 6..<22 { mask[0, 0, y, x] = 1 } }
        let out = try Editor(denoiser: d).run(request(.inpaint), image: original, mask: mask)
        let result = out.images[0]
        var changedInside = 0
        for y in 0..<28 {
            for x in 0..<28 {
                if mask[0, 0, y, x] == 0 {
                    XCTAssertEqual(result[0, 0, y, x], original[0, 0, y, x], accuracy: 1e-6, "kept pixel (\(y),\(x))")
                } else if abs(result[0, 0, y, x] - original[0, 0, y, x]) > 1e-3 {
                    changedInside += 1
                }
            }
        }
        XCTAssertGreaterThan(changedInside, 100, "the masked region was regenerated")
    }

    func testSameSeedSameBytesOtherSeedOtherBytes() throws {
        let d = try model()
        for mode in [EditMode.generate, .sdedit] {
            let img = mode == .generate ? nil : image()
            let a = try Editor(denoiser: d).run(request(mode, seed: 3), image: img).images[0]
            let b = try Editor(denoiser: d).run(request(mode, seed: 3), image: img).images[0]
            let c = try Editor(denoiser: d).run(request(mode, seed: 4), image: img).images[0]
            XCTAssertEqual(a.scalars, b.scalars, "\(mode)")
            XCTAssertNotEqual(a.scalars, c.scalars, "\(mode)")
        }
    }

    func testEveryModeRunsAndProducesWhatItPromises() throws {
        let d = try model()
        var frames = 0
        let editor = Editor(denoiser: d) { _, _ in frames += 1; return true }
        var r = request(.generate)
        r.count = 3
        XCTAssertEqual(try editor.run(r).images.count, 3)
        XCTAssertGreaterThan(frames, 0)

        r = request(.noise)
        r.t = [50, 150, 250]
        let noised = try editor.run(r, image: image())
        XCTAssertEqual(noised.labels, ["t=50", "t=150", "t=250"])

        r = request(.denoise)
        r.t = [100, 200]
        let denoised = try editor.run(r, image: image())
        XCTAssertEqual(denoised.rows.count, 2)
        XCTAssertEqual(denoised.rows[0].map(\.label), ["noisy t=100", "gaussian blur", "one-step", "iterative"])

        r = request(.sdedit)
        r.noiseLevels = [1, 3, 5]
        XCTAssertEqual(try editor.run(r, image: image()).images.count, 3)

        r = request(.anagram)
        r.prompts = ["a cat", "a dog"]
        let anagram = try editor.run(r)
        XCTAssertEqual(anagram.rows[0].count, 2)
        r.view = .negate
        XCTAssertThrowsError(try editor.run(r), "negation needs a symmetric pixel range")

        r = request(.hybrid)
        r.prompts = ["a cat", "a bird"]
        XCTAssertEqual(try editor.run(r).images.count, 1)

        for result in [anagram.images[0], noised.images[0]] {
            XCTAssertTrue(result.scalars.allSatisfy { $0 >= 0 && $0 <= 1 }, "results are in [0, 1]")
        }
    }

    func testBadRequestsAreClearErrors() throws {
        let d = try model()
        let editor = Editor(denoiser: d)
        XCTAssertThrowsError(try editor.run(request(.sdedit))) { XCTAssertTrue("\($0)".contains("needs an image")) }
        var r = request(.noise)
        r.t = [400]
        XCTAssertThrowsError(try editor.run(r, image: image())) { XCTAssertTrue("\($0)".contains("outside 1…300")) }
        r = request(.generate)
        r.prompt = "a giraffe"
        XCTAssertThrowsError(try editor.run(r)) { XCTAssertTrue("\($0)".contains("cat, dog, bird")) }
        r = request(.sdedit)
        r.noiseLevels = [50]
        XCTAssertThrowsError(try editor.run(r, image: image())) { XCTAssertTrue("\($0)".contains("noise level 50")) }
    }

    func testFlowModelsGenerate() throws {
        let d = try model(objective: "flow")
        var r = request(.generate)
        r.steps = 5
        var steps = 0
        let out = try Editor(denoiser: d) { info, _ in steps = info.count; return true }.run(r)
        XCTAssertEqual(steps, 5)
        XCTAssertEqual(out.images[0].shape, [1, 1, 28, 28])
        XCTAssertThrowsError(try Editor(denoiser: d).run(request(.inpaint), image: image(), mask: image()))
    }
}
