import XCTest
import DarkroomImaging
import DarkroomJobs
import DarkroomJobModel
import DarkroomModels
import DarkroomSupport
import DarkroomTensor
import DarkroomTestSupport
import DarkroomTraining

/// A single-step denoiser (objective "denoise") as a model entry: `denoise` jobs take `sigma` and run one pass of the
/// network; every other mode, and `t`, are refused naming the field; diffusion models refuse `sigma`.
final class SingleStepDenoiserJobTests: XCTestCase {
    /// config.json with a random single-step denoiser "den" trained at σ = 0.3 and a random DDPM model "tiny".
    private func workspace() throws -> (URL, JobRunner) {
        let dir = try temporaryFolder(self)
        var config = TinyUNetConfig(channels: 1, hidden: 4, objective: "denoise")
        config.sigma = 0.3
        try TrainingCheckpoint.saveModel(TrainableUNet(config: config, seed: 4), to: dir.appendingPathComponent("models/den").path)
        let ddpm = TrainableUNet(config: TinyUNetConfig(channels: 1, hidden: 4, classes: ["cat", "dog"]), seed: 3)
        try TrainingCheckpoint.saveModel(ddpm, to: dir.appendingPathComponent("models/tiny").path)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("inbox"), withIntermediateDirectories: true)
        var rng = RandomSource(seed: 9)
        try PNGWriter.write(rng.uniform([1, 1, 28, 28]), to: dir.appendingPathComponent("inbox/photo.png").path)
        try #"{"models": {"tiny": "models/tiny", "den": "models/den"}, "default_model": "tiny"}"#
            .write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        return (dir, JobRunner(config: try DarkroomConfig.load(path: dir.appendingPathComponent("config.json").path)))
    }

    private func sidecar(_ dir: URL, _ json: String) throws -> String {
        let path = dir.appendingPathComponent("inbox/photo.json").path
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testADenoiseJobIsOnePassOfTheNetworkOnTheImagePlusSigmaTimesNoise() throws {
        let (dir, runner) = try workspace()
        let prepared = try runner.prepare(sidecarPath: try sidecar(dir, #"{"mode": "denoise", "model": "den", "seed": 5}"#))
        XCTAssertEqual(prepared.request.sigma, [0.3], "the model's training σ is the default")
        XCTAssertEqual(prepared.request.t, [])
        let out = dir.appendingPathComponent("out").path
        _ = try runner.execute(prepared, outFolder: out)

        // The same arithmetic, by hand: the stored input, noise from the job's seed, one forward pass at t = σ.
        let unet = try TinyUNet(checkpoint: dir.appendingPathComponent("models/den").path)
        let x0 = try ImageDecoder.read(path: out + "/input.png", channels: 1)
        var rng = RandomSource(seed: 5)
        let z = rng.gaussian(x0.shape)
        let noisy = Tensor(uninitialized: x0.shape)
        for i in 0..<noisy.count { noisy.pointer[i] = x0.pointer[i] + 0.3 * z.pointer[i] }
        let expected = try unet.forward(noisy, t: Tensor(repeating: 0.3, shape: [1, 1]))
        let result = try ImageDecoder.read(path: out + "/" + JobFiles.result(1, of: 1), channels: 1)
        var worst: Float = 0
        for i in 0..<result.count { worst = max(worst, abs(result.pointer[i] - min(max(expected.pointer[i], 0), 1))) }
        XCTAssertLessThanOrEqual(worst, 0.5 / 255 + 1e-6, "the result is the network's output, rounded to 8 bits")
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/comparison.png"))
    }

    func testEachSigmaGivesOneResultAndSigmaZeroDenoisesTheCleanImage() throws {
        let (dir, runner) = try workspace()
        let prepared = try runner.prepare(sidecarPath: try sidecar(dir, #"{"mode": "denoise", "model": "den", "sigma": [0, 0.5], "seed": 2}"#))
        XCTAssertEqual(prepared.request.sigma, [0, 0.5])
        let out = dir.appendingPathComponent("out").path
        let result = try runner.execute(prepared, outFolder: out)
        let names = Set(result.outputs.map { ($0.path as NSString).lastPathComponent })
        XCTAssertTrue(names.isSuperset(of: ["result-1.png", "result-2.png"]), "\(names)")
        XCTAssertFalse(names.contains("result-3.png"))
        let unet = try TinyUNet(checkpoint: dir.appendingPathComponent("models/den").path)
        let x0 = try ImageDecoder.read(path: out + "/input.png", channels: 1)
        let clean = try unet.forward(x0, t: Tensor(repeating: 0, shape: [1, 1]))
        let first = try ImageDecoder.read(path: out + "/result-1.png", channels: 1)
        for i in 0..<first.count { XCTAssertEqual(first.pointer[i], min(max(clean.pointer[i], 0), 1), accuracy: 0.5 / 255 + 1e-6) }
    }

    func testWhatASingleStepDenoiserCannotRunIsRefusedNamingTheField() throws {
        let (dir, runner) = try workspace()
        func expect(_ json: String, field: String, saying words: String, line: UInt = #line) throws {
            XCTAssertThrowsError(try runner.prepare(sidecarPath: try sidecar(dir, json)), line: line) {
                XCTAssertEqual(($0 as? JobError)?.field, field, "\($0)", line: line)
                XCTAssertTrue("\($0)".contains(words), "\($0)", line: line)
            }
        }
        try expect(#"{"mode": "generate", "model": "den"}"#, field: "mode", saying: "single-step denoiser (denoise works)")
        try expect(#"{"mode": "sdedit", "model": "den"}"#, field: "mode", saying: "needs a diffusion model")
        try expect(#"{"mode": "denoise", "model": "den", "t": [50]}"#, field: "t", saying: "as sigma, not t")
        try expect(#"{"mode": "denoise", "model": "tiny", "sigma": 0.5}"#, field: "sigma", saying: "diffusion model (give t)")
        try expect(#"{"mode": "sdedit", "model": "den", "sigma": 0.5}"#, field: "sigma", saying: "only denoise takes sigma")
        try expect(#"{"mode": "denoise", "model": "den", "sigma": [0.5, -1]}"#, field: "sigma", saying: "0.0…10.0")
        try expect(#"{"mode": "denoise", "model": "den", "sigma": "high"}"#, field: "sigma", saying: "a number")
    }
}
