import XCTest
import DarkroomDiffusion
import DarkroomImaging
import DarkroomJobs
import DarkroomModels
import DarkroomTensor
import DarkroomTestSupport
import DarkroomTraining
import DarkroomJobModel
import DarkroomSupport

/// One job from files to files on a small random model, and config.json validation.
final class JobRunnerTests: XCTestCase {
    /// A folder with config.json, a random class-conditioned model and an inbox.
    private func workspace() throws -> (URL, DarkroomConfig) {
        let dir = try temporaryFolder(self)
        let model = TrainableUNet(config: TinyUNetConfig(channels: 1, hidden: 4, classes: ["cat", "dog"]), seed: 3)
        try TrainingCheckpoint.saveModel(model, to: dir.appendingPathComponent("models/tiny").path)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("inbox"), withIntermediateDirectories: true)
        let config = #"{"models": {"tiny": "models/tiny"}, "defaults": {"stride": 30}}"#
        try config.write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        return (dir, try DarkroomConfig.load(path: dir.appendingPathComponent("config.json").path))
    }

    func testSDEditJobWritesResultsWithMetadataAndInputs() throws {
        let (dir, config) = try workspace()
        let inbox = dir.appendingPathComponent("inbox")
        var rng = RandomSource(seed: 1)
        try PNGWriter.write(rng.uniform([1, 3, 40, 56]), to: inbox.appendingPathComponent("photo.png").path)
        try #"{"mode": "sdedit", "prompt": "a dog", "noise_levels": [2, 5], "seed": 11}"#
            .write(to: inbox.appendingPathComponent("photo.json"), atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("out").path
        let result = try JobRunner(config: config).run(sidecarPath: inbox.appendingPathComponent("photo.json").path, outFolder: out)
        XCTAssertEqual(result.request.seed, 11)
        XCTAssertEqual(result.request.stride, 30, "default from config.json")
        let names = Set(result.outputs.map { ($0.path as NSString).lastPathComponent })
        XCTAssertEqual(names, ["result-1.png", "result-2.png", "comparison.png", "progress.gif", "input.png"])
        let png = try Data(contentsOf: URL(fileURLWithPath: out + "/result-1.png"))
        let text = PNGWriter.textChunks(of: png)
        XCTAssertTrue(text["parameters"]!.hasPrefix("a dog\n"))
        XCTAssertTrue(text["parameters"]!.contains("Seed: 11"))
        XCTAssertTrue(text["parameters"]!.contains("Mode: sdedit"))
        let stored = try JSONDecoder().decode(EditRequest.self, from: Data(text["darkroom"]!.utf8))
        XCTAssertEqual(stored, result.request, "a result can be re-run from its PNG alone")
        XCTAssertEqual(try ImageDecoder.read(path: out + "/input.png", channels: 1).shape, [1, 1, 28, 28])
    }

    func testStrengthIsResolvedToALevelAtIntakeAndRunsTheSameAsThatLevel() throws {
        let (dir, config) = try workspace()
        let inbox = dir.appendingPathComponent("inbox")
        var rng = RandomSource(seed: 2)
        try PNGWriter.write(rng.uniform([1, 1, 28, 28]), to: inbox.appendingPathComponent("p.png").path)
        try #"{"mode": "sdedit", "strength": 0.5, "seed": 3}"#.write(to: inbox.appendingPathComponent("p.json"), atomically: true, encoding: .utf8)
        let runner = JobRunner(config: config)
        let prepared = try runner.prepare(sidecarPath: inbox.appendingPathComponent("p.json").path)
        // Stride 30 over 300 steps: timesteps 299, 269, …, 29, 0 (11 of them); half of the 10 steps remains.
        XCTAssertEqual(prepared.request.noiseLevels, [5])
        XCTAssertEqual(prepared.request.strength, 0.5, "what the sidecar asked is kept beside it")
        try #"{"mode": "sdedit", "noise_level": 5, "seed": 3}"#.write(to: inbox.appendingPathComponent("p.json"), atomically: true, encoding: .utf8)
        let a = try runner.execute(prepared, outFolder: dir.appendingPathComponent("a").path)
        let b = try runner.run(sidecarPath: inbox.appendingPathComponent("p.json").path, outFolder: dir.appendingPathComponent("b").path)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("a/result.png").path))
        XCTAssertEqual(try ImageDecoder.read(path: a.outputs[0].path, channels: 1).scalars, try ImageDecoder.read(path: b.outputs[0].path, channels: 1).scalars)
    }

    func testSameSidecarTwiceGivesTheSameBytes() throws {
        let (dir, config) = try workspace()
        let sidecar = dir.appendingPathComponent("inbox/gen.json")
        try #"{"prompt": "a cat", "count": 2, "seed": 5}"#.write(to: sidecar, atomically: true, encoding: .utf8)
        let a = try JobRunner(config: config).run(sidecarPath: sidecar.path, outFolder: dir.appendingPathComponent("a").path)
        let b = try JobRunner(config: config).run(sidecarPath: sidecar.path, outFolder: dir.appendingPathComponent("b").path)
        for (x, y) in zip(a.outputs, b.outputs) {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: x.path)), try Data(contentsOf: URL(fileURLWithPath: y.path)))
        }
    }

    func testMissingFilesUnknownModelsAndPromptsAreRejectedByField() throws {
        let (dir, config) = try workspace()
        let runner = JobRunner(config: config)
        func expect(_ json: String, field: String, line: UInt = #line) throws {
            let path = dir.appendingPathComponent("inbox/job.json")
            try json.write(to: path, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try runner.run(sidecarPath: path.path, outFolder: dir.appendingPathComponent("x").path), line: line) {
                XCTAssertEqual(($0 as? JobError)?.field, field, "\($0)", line: line)
            }
        }
        try expect(#"{"mode": "sdedit"}"#, field: "image")
        try expect(#"{"mode": "sdedit", "image": "nope.png"}"#, field: "image")
        try expect(#"{"model": "giant"}"#, field: "model")
        try expect(#"{"prompt": "a giraffe"}"#, field: "prompt")
        try expect(#"{"mode": "noise", "image": "x.png", "t": [5000]}"#, field: "image")
    }

    func testConfigValidation() throws {
        let dir = try temporaryFolder(self)
        let path = dir.appendingPathComponent("config.json").path
        func expect(_ json: String, field: String?, line: UInt = #line) throws {
            try json.write(toFile: path, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try DarkroomConfig.load(path: path), line: line) {
                XCTAssertEqual(($0 as? JobError)?.field, field, "\($0)", line: line)
            }
        }
        try expect(#"{"models": {}}"#, field: "models")
        try expect(#"{"models": {"a": "m"}, "default_model": "b"}"#, field: "default_model")
        try expect(#"{"models": {"a": "m"}, "colour": 1}"#, field: "colour")
        try expect(#"{"models": {"a": "m"}, "defaults": {"guidance": "x"}}"#, field: "guidance")
        try expect(#"{"models": {"a": "m"}, "threads": 0}"#, field: "threads")
        try expect(#"{"models": {"a": "m"}, "defaults": {"steps": 3}}"#, field: "defaults.steps")
        // Model entries given as objects.
        try expect(#"{"models": {"a": 3}}"#, field: "models.a")
        try expect(#"{"models": {"a": {"prompt_embeddings": "e"}}}"#, field: "models.a.path")
        try expect(#"{"models": {"a": {"path": "m", "pth": "m"}}}"#, field: "models.a.pth")
        try expect(#"{"models": {"a": {"path": "m", "defaults": {"seed": 1}}}}"#, field: "models.a.defaults.seed")
        try expect(#"{"models": {"a": {"path": "m", "defaults": {"stride": 0}}}}"#, field: "stride")
        try #"{"models": {"a": {"path": "m", "prompt_embeddings": "e.safetensors", "defaults": {"guidance": 7}}}}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        let withEntry = try DarkroomConfig.load(path: path)
        XCTAssertEqual(withEntry.models["a"], dir.appendingPathComponent("m").standardized.path)
        XCTAssertEqual(withEntry.options(forModel: "a"),
                       ModelOptions(promptEmbeddings: dir.appendingPathComponent("e.safetensors").standardized.path, guidance: 7))
        try #"{"models": {"a": "m"}, "gallery": "g"}"#.write(toFile: path, atomically: true, encoding: .utf8)
        let config = try DarkroomConfig.load(path: path)
        XCTAssertEqual(config.gallery, dir.appendingPathComponent("g").standardized.path, "relative to the config file")
        XCTAssertEqual(config.defaultModel, "a")
    }

    func testAJobWhoseStoredParametersNoLongerDecodeFailsNamingTheJobInsteadOfRunning() throws {
        var job = Job(name: "old-cat", mode: "generate", model: "fashion", prompt: "a cat", seed: 1,
                      parameters: JobParameters(json: #"{"mode": "paint"}"#, state: .queued), inputHash: "h", folder: "/g/jobs/12")
        job.id = 12
        guard case .unreadable(_, let reason) = job.parameters else { return XCTFail("read as \(job.parameters)") }
        XCTAssertTrue(reason.contains("mode"), reason)
        XCTAssertThrowsError(try JobRunner.Prepared(job: job)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("job 12 'old-cat'") && text.contains("no longer decode") && text.contains(reason), text)
        }
        job.parameters = .rejection
        XCTAssertThrowsError(try JobRunner.Prepared(job: job)) { XCTAssertTrue("\($0)".contains("rejected drop"), "\($0)") }
    }
}
