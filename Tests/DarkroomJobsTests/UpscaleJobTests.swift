import XCTest
import DarkroomDiffusion
import DarkroomImaging
import DarkroomJobs
import DarkroomModels
import DarkroomTensor
import DarkroomTestSupport
import DarkroomJobModel
import DarkroomSupport

/// Upscaled jobs through the JobRunner the daemon uses: the IF-shaped stage I fixture `if_a` (16×16, text width 24)
/// with the stage II fixture `if2_pipe` (32×32, text width 24) named as its upscaler.
final class UpscaleJobTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("DarkroomModelsTests/Fixtures")
    static let prompts = ["", "a photo of a dog", "a rocket ship"]

    /// The IF workspace with `entry` added to the model's entry (by default: the stage II fixture as upscaler).
    private func workspace(entry: String = #", "upscaler": "\#(fixtures.path)/if2_pipe""#) throws -> (URL, DarkroomConfig) {
        try ifWorkspace(self, prompts: UpscaleJobTests.prompts, entry: entry)
    }

    /// Models loaded once per test, as the daemon keeps them.
    private var library = ModelLibrary()

    private func run(_ sidecar: String, named name: String, in dir: URL, _ config: DarkroomConfig) throws -> JobRunner.Result {
        let path = dir.appendingPathComponent("inbox/\(name).json")
        try sidecar.write(to: path, atomically: true, encoding: .utf8)
        return try JobRunner(config: config, library: library).run(sidecarPath: path.path, outFolder: dir.appendingPathComponent("out-\(name)").path)
    }

    private func prepare(_ sidecar: String, in dir: URL, _ config: DarkroomConfig) throws -> EditRequest {
        let path = dir.appendingPathComponent("inbox/p.json")
        try sidecar.write(to: path, atomically: true, encoding: .utf8)
        return try JobRunner(config: config, library: library).prepare(sidecarPath: path.path).request
    }

    private func files(_ result: JobRunner.Result, _ prefix: String) -> [String] {
        result.outputs.map(\.path).filter { ($0 as NSString).lastPathComponent.hasPrefix(prefix) }.sorted()
    }

    func testEveryImageModeUpscalesAndKeepsItsStageOneImages() throws {
        let (dir, config) = try workspace()
        let jobs: [(String, String, Int)] = [
            ("generate", #"{"prompt": "a photo of a dog", "count": 2, "stride": 330, "seed": 1}"#, 2),
            ("denoise", #"{"mode": "denoise", "image": "photo.png", "t": [500], "prompt": "a rocket ship", "stride": 330, "seed": 3}"#, 1),
            ("sdedit", #"{"mode": "sdedit", "image": "photo.png", "prompt": "a rocket ship", "stride": 330, "noise_level": 1, "seed": 4}"#, 1),
            ("inpaint", #"{"mode": "inpaint", "image": "photo.png", "mask": "mask.png", "prompt": "a photo of a dog", "stride": 330, "seed": 6}"#, 1),
            ("anagram", #"{"mode": "anagram", "prompts": ["a rocket ship", "a photo of a dog"], "stride": 330, "seed": 7}"#, 1),
            ("hybrid", #"{"mode": "hybrid", "prompts": ["a rocket ship", "a photo of a dog"], "stride": 330, "seed": 8}"#, 1),
        ]
        for (name, body, count) in jobs {
            let sidecar = body.dropLast() + #", "upscale": true, "upscale_steps": 2}"#
            let result = try run(String(sidecar), named: name, in: dir, config)
            XCTAssertEqual(result.request.upscale, UpscaleSettings(steps: 2, guidance: 4, noiseLevel: 250), name)
            let results = files(result, "result"), stageOne = files(result, "stage1")
            XCTAssertEqual(results.count, count, name)
            XCTAssertEqual(stageOne.count, count, name)
            for path in results { XCTAssertEqual(try ImageDecoder.read(path: path, channels: 3).shape, [1, 3, 32, 32], name) }
            for path in stageOne { XCTAssertEqual(try ImageDecoder.read(path: path, channels: 3).shape, [1, 3, 16, 16], name) }
            XCTAssertTrue(result.outputs.contains { $0.kind == .comparison }, "\(name): the sheet shows both stages")
            XCTAssertTrue(result.outputs.contains { $0.kind == .gif }, name)
            XCTAssertNotNil(result.seconds["upscale"], name)
            // The PNG says how it was upscaled.
            let text = PNGWriter.textChunks(of: try Data(contentsOf: URL(fileURLWithPath: results[0])))
            let parameters = try XCTUnwrap(text["parameters"], name)
            XCTAssertTrue(parameters.contains("Size: 32x32"), parameters)
            XCTAssertTrue(parameters.contains("Upscale steps: 2") && parameters.contains("Upscale noise level: 250")
                          && parameters.contains("Upscale from: 16x16") && parameters.contains("Upscaler: tiny-if stage II"), parameters)
            XCTAssertTrue(text["darkroom"]?.contains(#""upscale":{"guidance":4,"noise_level":250,"steps":2}"#) == true, text["darkroom"] ?? "")
        }
    }

    func testStageOneIsTheSameWithAndWithoutAnUpscale() throws {
        // Stage II draws from a stream of its own: the job's stage I images do not change when it upscales.
        let (dir, config) = try workspace()
        let plain = try run(#"{"prompt": "a photo of a dog", "stride": 330, "seed": 11}"#, named: "plain", in: dir, config)
        let upscaled = try run(#"{"prompt": "a photo of a dog", "stride": 330, "seed": 11, "upscale": true, "upscale_steps": 2}"#,
                               named: "upscaled", in: dir, config)
        let a = try ImageDecoder.read(path: files(plain, "result")[0], channels: 3)
        let b = try ImageDecoder.read(path: files(upscaled, "stage1")[0], channels: 3)
        XCTAssertEqual(maxAbsDifference(a, b), 0)
        XCTAssertTrue(files(plain, "stage1").isEmpty)
        // The GIF goes on through stage II: more frames than stage I's alone, at stage II's size.
        let gifPlain = try Data(contentsOf: URL(fileURLWithPath: plain.outputs.first { $0.kind == .gif }!.path))
        let gifUp = try Data(contentsOf: URL(fileURLWithPath: upscaled.outputs.first { $0.kind == .gif }!.path))
        XCTAssertGreaterThan(gifFrames(gifUp), gifFrames(gifPlain))
        XCTAssertEqual(gifSize(gifUp).height, 4 * 32 + 2)   // 32² tiles at ×4 (16² stage I ones at ×8 to match), 1-pixel gaps
    }

    func testProgressCountsBothStagesAndReportsStageTwo() throws {
        let (dir, config) = try workspace()
        let path = dir.appendingPathComponent("inbox/p.json")
        try #"{"prompt": "a photo of a dog", "count": 2, "stride": 330, "seed": 5, "upscale": true, "upscale_steps": 2}"#
            .write(to: path, atomically: true, encoding: .utf8)
        let runner = JobRunner(config: config, library: library)
        var reports: [JobProgress] = []
        let monitor = JobMonitor(interval: 0, report: { reports.append($0) }, shouldStop: { false })
        _ = try runner.execute(try runner.prepare(sidecarPath: path.path), outFolder: dir.appendingPathComponent("out").path, monitor: monitor)
        // Stage I: 990 → 660 → 330 → 0 (3 steps); stage II: 2 steps for each of the 2 images.
        XCTAssertEqual(Set(reports.map(\.steps).filter { $0 > 0 }), [7])
        let stageTwo = reports.filter { $0.stage == "stage II" }
        XCTAssertEqual(stageTwo.first?.step, 3, "stage II starts after stage I's steps")
        XCTAssertEqual(stageTwo.last?.step, 7)
        XCTAssertEqual(reports.filter { $0.stage == "stage I" }.last?.step, 3)
        XCTAssertEqual(reports.last?.stage, "writing")
    }

    func testAStopDuringStageTwoKeepsStageOnesGIF() throws {
        let (dir, config) = try workspace()
        let path = dir.appendingPathComponent("inbox/p.json")
        try #"{"prompt": "a photo of a dog", "count": 2, "stride": 330, "seed": 5, "upscale": true, "upscale_steps": 3}"#
            .write(to: path, atomically: true, encoding: .utf8)
        let runner = JobRunner(config: config, library: library)
        var stage = ""
        let monitor = JobMonitor(interval: 0, pollInterval: 0, report: { stage = $0.stage }, shouldStop: { stage == "stage II" })
        XCTAssertThrowsError(try runner.execute(try runner.prepare(sidecarPath: path.path), outFolder: dir.appendingPathComponent("out").path,
                                                monitor: monitor)) { error in
            guard let stopped = error as? JobInterrupted else { return XCTFail("\(error)") }
            XCTAssertEqual(stopped.outputs.map(\.kind), [.gif])
        }
        let gif = try Data(contentsOf: dir.appendingPathComponent("out/progress.gif"))
        XCTAssertEqual(gifSize(gif).height, 7 * 16 + 2, "stage I frames only, at stage I's viewing size (16² ×7) with 1-pixel gaps")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("out/result-1.png").path))
    }

    func testTwoEntriesOnOneFolderKeepTheirOwnUpscaler() throws {
        let (dir, _) = try workspace()
        let model = "\(Self.fixtures.path)/if_a"
        try """
            {"models": {"plain": {"path": "\(model)", "prompt_embeddings": "embeddings.safetensors"},
                        "big": {"path": "\(model)", "prompt_embeddings": "embeddings.safetensors", "upscaler": "\(Self.fixtures.path)/if2_pipe"}},
             "default_model": "plain"}
            """.write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        let config = try DarkroomConfig.load(path: dir.appendingPathComponent("config.json").path)
        XCTAssertNotNil(try prepare(#"{"model": "big", "prompt": "a photo of a dog", "upscale": true}"#, in: dir, config).upscale)
        XCTAssertThrowsError(try prepare(#"{"model": "plain", "prompt": "a photo of a dog", "upscale": true}"#, in: dir, config))
        XCTAssertNotNil(try prepare(#"{"model": "big", "prompt": "a photo of a dog", "upscale": true}"#, in: dir, config).upscale)
    }

    func testUpscaleSettingsComeFromTheSidecarThenTheModelEntry() throws {
        let (dir, config) = try workspace(entry: #", "upscaler": "\#(Self.fixtures.path)/if2_pipe", "defaults": {"upscale": true, "upscale_steps": 7, "upscale_noise": 100}"#)
        let byDefault = try prepare(#"{"prompt": "a photo of a dog"}"#, in: dir, config)
        XCTAssertEqual(byDefault.upscale, UpscaleSettings(steps: 7, guidance: 4, noiseLevel: 100))
        let given = try prepare(#"{"prompt": "a photo of a dog", "upscale_guidance": 6.5, "upscale_steps": 3}"#, in: dir, config)
        XCTAssertEqual(given.upscale, UpscaleSettings(steps: 3, guidance: 6.5, noiseLevel: 100))
        XCTAssertNil(try prepare(#"{"prompt": "a photo of a dog", "upscale": false}"#, in: dir, config).upscale)
        // Mode noise makes no image to upscale: the model's default does not apply to it.
        XCTAssertNil(try prepare(#"{"mode": "noise", "image": "photo.png", "t": [100]}"#, in: dir, config).upscale)

        let (plainDir, plainConfig) = try workspace(entry: "")
        XCTAssertNil(try prepare(#"{"prompt": "a photo of a dog"}"#, in: plainDir, plainConfig).upscale)
    }

    func testUpscaleRequestsAreCheckedAtIntakeNamingTheField() throws {
        let (dir, config) = try workspace()
        let (plainDir, plainConfig) = try workspace(entry: "")
        let cases: [(String, URL, DarkroomConfig, String, String)] = [
            (#"{"prompt": "a photo of a dog", "upscale": true}"#, plainDir, plainConfig, "upscale", "has no upscaler"),
            (#"{"prompt": "a photo of a dog", "upscale_steps": 5}"#, plainDir, plainConfig, "upscale_steps", "does not upscale"),
            (#"{"prompt": "a photo of a dog", "upscale": false, "upscale_noise": 5}"#, dir, config, "upscale_noise", "\"upscale\" is false"),
            (#"{"prompt": "a photo of a dog", "upscale": true, "upscale_noise": 1000}"#, dir, config, "upscale_noise", "0…999"),
            (#"{"prompt": "a photo of a dog", "upscale": true, "upscale_steps": 0}"#, dir, config, "upscale_steps", "1…1000"),
            (#"{"prompt": "a photo of a dog", "upscale": "yes"}"#, dir, config, "upscale", "true or false"),
            (#"{"mode": "noise", "image": "photo.png", "upscale": true}"#, dir, config, "upscale", "no image to upscale"),
        ]
        for (sidecar, d, c, field, words) in cases {
            XCTAssertThrowsError(try prepare(sidecar, in: d, c), sidecar) { error in
                guard let e = error as? JobError else { return XCTFail("\(error)") }
                XCTAssertEqual(e.field, field, sidecar)
                XCTAssertTrue(e.message.contains(words), "\(sidecar): \(e)")
            }
        }
    }

    func testAnUpscalerThatIsNotStageTwoIsRefusedAtLoad() throws {
        for (entry, words) in [(#", "upscaler": "\#(Self.fixtures.path)/if_c""#, "not a stage II"),
                               (#", "upscaler": "\#(Self.fixtures.path)/if2_b""#, "encoder_hid_dim"),
                               (#", "upscaler": "/nonexistent/stage2""#, "cannot read")] {
            let (dir, config) = try workspace(entry: entry)
            XCTAssertThrowsError(try prepare(#"{"prompt": "a photo of a dog"}"#, in: dir, config), entry) { error in
                guard let e = error as? JobError else { return XCTFail("\(error)") }
                XCTAssertEqual(e.field, "models.tiny-if.upscaler")
                XCTAssertTrue(e.message.contains(words), "\(entry): \(e)")
            }
        }
        // Defaults that upscale without an upscaler are a config error.
        let dir = try temporaryFolder(self)
        try #"{"models": {"m": {"path": "m", "defaults": {"upscale": true}}}}"#.write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try DarkroomConfig.load(path: dir.appendingPathComponent("config.json").path, checkFolders: false)) { error in
            XCTAssertEqual((error as? JobError)?.field, "models.m.defaults.upscale", "\(error)")
        }
    }

    /// Frames of a GIF: its image descriptors, each after a graphic control extension.
    private func gifFrames(_ data: Data) -> Int {
        let bytes = [UInt8](data)
        var count = 0
        for i in 0..<(bytes.count - 3) where bytes[i] == 0x21 && bytes[i + 1] == 0xF9 && bytes[i + 2] == 0x04 { count += 1 }
        return count
    }

    /// The logical screen size in a GIF's header.
    private func gifSize(_ data: Data) -> (width: Int, height: Int) {
        let b = [UInt8](data)
        return (Int(b[6]) | Int(b[7]) << 8, Int(b[8]) | Int(b[9]) << 8)
    }
}
