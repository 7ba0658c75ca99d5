import XCTest
import DarkroomDiffusion
import DarkroomModels
import DarkroomTensor
import DarkroomTestSupport
@testable import DarkroomTraining

/// The course's single-step denoisers: the training batches of `denoise` (any σ) and `pure-noise`, and their report
/// on real test images.
final class DenoiserTrainingTests: XCTestCase {
    func testDenoiseBatchesAddSigmaTimesTheNoiseAndShowTheNetworkSigma() {
        var rng = RandomSource(seed: 1)
        let x = rng.uniform([16, 1, 28, 28])
        let schedule = DDPMSchedule.linear(timesteps: 300, start: 1e-4, end: 0.02)
        for sigma: Float in [0.2, 0.8] {
            var a = RandomSource(seed: 7)
            let (input, t, target) = Objective.denoise.trainingBatch(x, schedule: schedule, sigma: sigma, rng: &a)
            var b = RandomSource(seed: 7)
            let noise = b.gaussian(x.shape)
            for i in 0..<x.count { XCTAssertEqual(input.pointer[i], x.pointer[i] + sigma * noise.pointer[i], accuracy: 1e-6) }
            XCTAssertEqual((0..<16).map { t.pointer[$0] }, Array(repeating: sigma, count: 16))
            XCTAssertTrue((0..<x.count).allSatisfy { target.pointer[$0] == x.pointer[$0] }, "the target is the clean batch itself")
        }
    }

    func testPureNoiseBatchesShowOnlyNoiseAndTargetTheImage() {
        var rng = RandomSource(seed: 2)
        let x = rng.uniform([8, 1, 28, 28])
        let schedule = DDPMSchedule.linear(timesteps: 300, start: 1e-4, end: 0.02)
        var a = RandomSource(seed: 3)
        let (input, t, target) = Objective.pureNoise.trainingBatch(x, schedule: schedule, sigma: 0.5, rng: &a)
        var b = RandomSource(seed: 3)
        let noise = b.gaussian(x.shape)
        for i in 0..<x.count { XCTAssertEqual(input.pointer[i], noise.pointer[i], "the input carries nothing of the image") }
        XCTAssertEqual((0..<8).map { t.pointer[$0] }, Array(repeating: 1, count: 8))
        XCTAssertTrue((0..<x.count).allSatisfy { target.pointer[$0] == x.pointer[$0] })
    }

    func testTheDenoiserReportSweepsRealTestImagesAndWritesTheTestLossPerSigma() throws {
        let dir = try temporaryFolder(self)
        try BarDataset.write(dir, split: "train", count: 24)
        try BarDataset.write(dir, split: "t10k", count: 12, shift: 2)
        var o = TrainingOptions(data: dir.path)
        (o.objective, o.hidden, o.epochs, o.batchSize, o.sigma, o.unconditional, o.seed) = ("denoise", 4, 1, 8, 0.3, true, 2)
        let out = dir.appendingPathComponent("run").path
        XCTAssertTrue(try Trainer(options: o, out: out, resume: false).run())
        let unet = try TinyUNet(checkpoint: out + "/model")
        XCTAssertEqual(unet.config.sigma, 0.3, "the training σ is recorded in config.json")

        try TrainingReport.write(out: out, modelFolder: out + "/model", seed: 1, data: dir.path)
        for name in ["loss.png", "samples.png", "sigma-loss.png", "sigma-loss.csv"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + name), name)
        }
        let rows = try String(contentsOfFile: out + "/sigma-loss.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.first.map(String.init), "sigma,test_mse")
        let levels: [String] = rows.dropFirst().map { String($0.split(separator: ",")[0]) }
        XCTAssertEqual(levels, (0...10).map { String(format: "%.1f", Double($0) / 10) })
        // At σ = 0 nothing is random: the loss is the network's error on the clean test images, computed here.
        let test = try Dataset(folder: dir.path, split: "t10k")
        let x = test.batch(Array(0..<12)[...]).0
        let y = try unet.forward(x, t: Tensor(repeating: 0, shape: [12, 1]))
        var sum = 0.0
        for i in 0..<x.count { sum += Double((y.pointer[i] - x.pointer[i]) * (y.pointer[i] - x.pointer[i])) }
        let reported = Double(rows[1].split(separator: ",")[1])!
        XCTAssertEqual(reported, sum / Double(x.count), accuracy: 1e-5)

        let sweep = try DenoiserReport.sigmaSweep(unet, images: test, out: out, seed: 1)
        XCTAssertEqual(sweep.count, 6, "a noisy and a denoised row for each of three test images")
        XCTAssertEqual(sweep[0].map(\.0), ["s=0.0", "s=0.2", "s=0.4", "s=0.5", "s=0.6", "s=0.8", "s=1.0"])
        let shown = sweep[2][0].1
        XCTAssertEqual(shown.pointer[11 * 28 + 6], 240 / 255, accuracy: 1e-6, "the second test image (class 1's bar), not a random one")
        XCTAssertEqual(shown.pointer[11 * 28 + 5], 10 / 255, accuracy: 1e-6, "of the test split, whose bars start 2 pixels further right")
        XCTAssertEqual(shown.pointer[5 * 28 + 8], 10 / 255, accuracy: 1e-6)
    }

    func testThePureNoiseReportEndsEachClassRowWithThatClassMean() throws {
        let dir = try temporaryFolder(self)
        try BarDataset.write(dir, split: "t10k", count: 9)
        let data = try Dataset(folder: dir.path)
        let mean = try XCTUnwrap(DenoiserReport.mean(of: data, label: 1))
        XCTAssertEqual(mean.pointer[10 * 28 + 10], 240 / 255, accuracy: 1e-6, "class 1's bar")
        XCTAssertEqual(mean.pointer[4 * 28 + 10], 10 / 255, accuracy: 1e-6, "class 0's bar is not in class 1's mean")
        XCTAssertEqual(try XCTUnwrap(DenoiserReport.mean(of: data, label: nil)).pointer[4 * 28 + 10], (240 + 2 * 10) / (3 * 255), accuracy: 1e-6)
        let unet = TinyUNet(config: TinyUNetConfig(channels: 1, hidden: 4, classes: ["0", "1", "2"], objective: "pure-noise"), randomSeed: 1)
        let rows = try DenoiserReport.pureNoiseSamples(unet, images: data, seed: 1)
        XCTAssertEqual(rows.count, 3)
        XCTAssertEqual(rows[1].map(\.0), Array(repeating: "1", count: 5) + ["data mean"])
        let last = rows[1].last!.1
        XCTAssertEqual(Array(UnsafeBufferPointer(start: last.pointer, count: last.count)),
                       Array(UnsafeBufferPointer(start: mean.pointer, count: mean.count)))
    }

    func testOutOfRangeSigmaAndClassDropoutAreRefusedNamingTheOption() throws {
        let dir = try temporaryFolder(self)
        try BarDataset.write(dir, split: "train", count: 8)
        for (change, option) in [({ (o: inout TrainingOptions) in o.sigma = -0.1 }, "--sigma"),
                                 ({ (o: inout TrainingOptions) in o.classDropout = 1.5 }, "--class-dropout")] {
            var o = TrainingOptions(data: dir.path)
            o.hidden = 4
            change(&o)
            XCTAssertThrowsError(try Trainer(options: o, out: dir.appendingPathComponent("r").path, resume: false)) {
                XCTAssertTrue("\($0)".contains(option), "\($0)")
            }
        }
    }
}
