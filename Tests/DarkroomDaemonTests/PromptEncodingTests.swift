import Foundation
import XCTest
import DarkroomImaging
import DarkroomJobs
import DarkroomModels
import DarkroomStore
import DarkroomTensor
import DarkroomTestSupport
import DarkroomJobModel

/// Any prompt, no Python: an IF model with tokenizer/ and text_encoder/ encodes new prompts itself, once per database.
final class PromptEncodingTests: DaemonTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("DarkroomModelsTests/Fixtures")

    /// An IF-shaped random pipeline folder: the UNet of the diffusers fixture if_a (text width 24) and the tokenizer
    /// and T5 of the transformers fixture `text` (t5_a: d_model 24). No prompt-embeddings file anywhere.
    func ifWorkspace(text: String = "t5_a") throws -> URL {
        let dir = try workspace()
        let model = dir.appendingPathComponent("models/if")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        let fm = FileManager.default
        try fm.copyItem(at: Self.fixtures.appendingPathComponent("if_a/unet"), to: model.appendingPathComponent("unet"))
        for part in ["tokenizer", "text_encoder"] {
            try fm.copyItem(at: Self.fixtures.appendingPathComponent("\(text)/\(part)"), to: model.appendingPathComponent(part))
        }
        try #"{"models": {"if": "models/if"}, "threads": 1, "image_wait_seconds": 2}"#
            .write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        return dir
    }

    func testANewPromptRunsOnAnIFModelWithNoEmbeddingsFileAndIsEncodedOncePerDatabase() throws {
        let dir = try ifWorkspace()
        let log = dir.appendingPathComponent("first.log")
        try drop(#"{"prompt": "A Photo of a Dog", "stride": 330, "seed": 1}"#, dir.appendingPathComponent("inbox/dog.json"))
        XCTAssertEqual(try runOnce(dir, log: log), 0)
        let first = try XCTUnwrap(try store(dir).jobs().first)
        XCTAssertEqual(first.state, .done, first.error ?? "")
        let folder = dir.appendingPathComponent("gallery/jobs/\(first.id!)")
        let result = try ImageDecoder.read(path: folder.appendingPathComponent("result.png").path, channels: 3)
        XCTAssertEqual(result.shape, [1, 3, 16, 16])
        let text = try String(contentsOf: log, encoding: .utf8)
        XCTAssertTrue(text.contains("encoded 2 prompt(s) with T5"), text)
        XCTAssertTrue(text.contains("block 2 of 2"), "encoding progress is logged: \(text)")

        // What was cached is transformers' T5 output for the prompt as the pipeline prepares it.
        let keys = try store(dir).promptEmbeddingKeys()
        XCTAssertEqual(Set(keys.map(\.prompt)), ["", "a photo of a dog"])
        let identity = try XCTUnwrap(keys.first?.encoder)
        XCTAssertTrue(identity.hasPrefix("t5-d24-l2-"), identity)
        let cached = try XCTUnwrap(try store(dir).promptEmbedding(encoder: identity, prompt: "a photo of a dog"))
        let reference = try SafeTensorsFile(path: Self.fixtures.appendingPathComponent("t5_a/io.safetensors").path).tensor("out")
        XCTAssertEqual(cached.shape, [77, 24])
        var worst: Float = 0
        for i in 0..<(77 * 24) { worst = max(worst, abs(cached.values[i] - reference.pointer[77 * 24 + i])) }
        XCTAssertLessThan(worst, 1e-4)

        // The same prompt again is not encoded again; a prompt past 77 tokens is truncated and the page says so.
        let long = Array(repeating: "a lithograph of waterfalls over a skull", count: 14).joined(separator: " ")
        try drop(#"{"prompt": "a photo of a dog", "stride": 330, "seed": 2}"#, dir.appendingPathComponent("inbox/again.json"))
        try drop(#"{"prompt": "\#(long)", "stride": 330, "seed": 3}"#, dir.appendingPathComponent("inbox/long.json"))
        let second = dir.appendingPathComponent("second.log")
        XCTAssertEqual(try runOnce(dir, log: second), 0)
        let jobs = try store(dir).jobs()
        XCTAssertEqual(jobs.filter { $0.state == .done }.count, 3, jobs.map { "\($0.name): \($0.error ?? "")" }.joined(separator: "; "))
        let secondLog = try String(contentsOf: second, encoding: .utf8)
        XCTAssertEqual(secondLog.components(separatedBy: "encoded 1 prompt(s) with T5").count - 1, 1, "only the long prompt is new: \(secondLog)")
        let longJob = try XCTUnwrap(jobs.first { $0.name == "long" })
        let page = try String(contentsOf: dir.appendingPathComponent("gallery/jobs/\(longJob.id!)/index.html"), encoding: .utf8)
        XCTAssertTrue(page.contains("T5 reads the first 76"), page)
        XCTAssertEqual(longJob.request?.notes?.count, 1)
        XCTAssertNil(jobs.first { $0.name == "again" }?.request?.notes)
    }

    func testATextEncoderOfAnotherWidthIsRefusedNamingTheKey() throws {
        let dir = try ifWorkspace(text: "t5_c")   // d_model 32 beside a UNet that takes 24
        try drop(#"{"prompt": "a photo of a dog", "stride": 330}"#, dir.appendingPathComponent("inbox/dog.json"))
        XCTAssertEqual(try runOnce(dir), 0)
        let job = try XCTUnwrap(try store(dir).jobs().first)
        XCTAssertEqual(job.state, .rejected)
        XCTAssertTrue(job.error?.contains("key 'd_model'") == true, job.error ?? "")
        XCTAssertTrue(job.error?.contains("text_encoder/config.json") == true, job.error ?? "")
    }

    func testEncodeWritesTheEmbeddingsTransformersGives() throws {
        let dir = try temporaryFolder(self)
        let out = dir.appendingPathComponent("prompts.safetensors").path
        let model = Self.fixtures.appendingPathComponent("t5_d").path   // bf16 shards
        let (status, output) = try command(["encode", "--model", model, "--output", out, "A Photo of a Dog"])
        XCTAssertEqual(status, 0, output)
        let file = try SafeTensorsFile(path: out)
        XCTAssertEqual(file.names, ["", "a photo of a dog"])
        XCTAssertTrue(file.metadata["encoder"]?.hasPrefix("t5-d40-l2-") == true)
        let reference = try SafeTensorsFile(path: Self.fixtures.appendingPathComponent("t5_d/io.safetensors").path).tensor("out")
        for (row, name) in [(0, ""), (1, "a photo of a dog")] {
            let t = try file.tensor(name)
            XCTAssertEqual(t.shape, [77, 40])
            var worst: Float = 0
            for i in 0..<t.count { worst = max(worst, abs(t.pointer[i] - reference.pointer[row * 77 * 40 + i])) }
            XCTAssertLessThan(worst, 1e-4, name)
        }
        // --append keeps what is there and adds only what is new; --tokens shows the pipeline's ids.
        let (again, appended) = try command(["encode", "--model", model, "--output", out, "--append", "a photo of a dog", "a rocket ship", "--tokens"])
        XCTAssertEqual(again, 0, appended)
        XCTAssertTrue(appended.contains("(1 new"), appended)
        XCTAssertTrue(appended.contains("ids    60 42 82 60 25 1"), appended)
        XCTAssertEqual(try SafeTensorsFile(path: out).names, ["", "a photo of a dog", "a rocket ship"])
        let (bad, message) = try command(["encode", "--model", dir.path, "--output", out, "x"])
        XCTAssertNotEqual(bad, 0)
        XCTAssertTrue(message.contains("holds no tokenizer/spiece.model"), message)
    }

    func testAnUnusableT5FoundByDefaultLeavesTheEmbeddingsFileWorking() throws {
        let dir = try ifWorkspace()
        // PyTorch .bin weights only: the T5 found under its default name cannot load.
        let encoder = dir.appendingPathComponent("models/if/text_encoder")
        try FileManager.default.removeItem(at: encoder.appendingPathComponent("model.safetensors"))
        try Data("not safetensors".utf8).write(to: encoder.appendingPathComponent("pytorch_model.bin"))
        var rng = RandomSource(seed: 9)
        try SafeTensorsWriter.write(["a photo of a dog": rng.gaussian([77, 24]), "": rng.gaussian([77, 24])],
                                    to: dir.appendingPathComponent("models/if/prompt_embeddings.safetensors").path)
        let config = try DarkroomConfig.load(path: dir.appendingPathComponent("config.json").path)
        let runner = JobRunner(config: config)
        let sidecar = dir.appendingPathComponent("inbox/dog.json")
        try #"{"prompt": "a photo of a dog", "stride": 330}"#.write(to: sidecar, atomically: true, encoding: .utf8)
        XCTAssertEqual(try runner.prepare(sidecarPath: sidecar.path).request.prompt, "a photo of a dog")
        try #"{"prompt": "a photo of a cat", "stride": 330}"#.write(to: sidecar, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try runner.prepare(sidecarPath: sidecar.path)) { error in
            XCTAssertTrue("\(error)".contains("no text embedding for the prompt \"a photo of a cat\""), "\(error)")
        }
        // Named in config.json, the same folder is an error at load, naming what is missing.
        try #"{"models": {"if": {"path": "models/if", "text_encoder": "models/if/text_encoder"}}, "threads": 1}"#
            .write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        let named = try DarkroomConfig.load(path: dir.appendingPathComponent("config.json").path)
        XCTAssertThrowsError(try JobRunner(config: named).denoiser("if")) { error in
            XCTAssertTrue("\(error)".contains("no text encoder weights"), "\(error)")
        }
    }
}
