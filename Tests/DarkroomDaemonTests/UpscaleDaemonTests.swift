import Foundation
import XCTest
import DarkroomImaging
import DarkroomJobs
import DarkroomStore
import DarkroomTestSupport

/// 256² results through the daemon: an IF-shaped random stage I at 64² (the fixture if_a) with its T5 (t5_a), and a
/// random stage II with IF-II-L's five levels at 256² (the fixture if2_up) named as its upscaler. The UNets are
/// convolutional: only stage I's sample size in its config.json is changed from the fixture's.
final class UpscaleDaemonTests: DaemonTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("DarkroomModelsTests/Fixtures")

    /// Copies a fixture's `unet/` into `to/unet` with `sample_size` set.
    func copyUNet(_ fixture: String, to folder: URL, sampleSize: Int) throws {
        let unet = folder.appendingPathComponent("unet")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent("\(fixture)/unet"), to: unet)
        let configURL = unet.appendingPathComponent("config.json")
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as! [String: Any]
        config["sample_size"] = sampleSize
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
    }

    func testAnUpscaledGenerateWrites256PixelResultsBesideItsStageOneImage() throws {
        let dir = try workspace()
        let fm = FileManager.default
        try copyUNet("if_a", to: dir.appendingPathComponent("models/if"), sampleSize: 64)
        for part in ["tokenizer", "text_encoder"] {
            try fm.copyItem(at: Self.fixtures.appendingPathComponent("t5_a/\(part)"), to: dir.appendingPathComponent("models/if/\(part)"))
        }
        try copyUNet("if2_up", to: dir.appendingPathComponent("models/if-ii"), sampleSize: 256)
        try #"""
            {"models": {"if": {"path": "models/if", "upscaler": "models/if-ii", "defaults": {"upscale": true, "upscale_steps": 2}}},
             "threads": 2, "image_wait_seconds": 2}
            """#.write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        try drop(#"{"prompt": "a photo of a dog", "stride": 330, "seed": 1}"#, dir.appendingPathComponent("inbox/dog.json"))
        try drop(#"{"prompt": "a photo of a dog", "stride": 330, "seed": 1, "upscale": false}"#, dir.appendingPathComponent("inbox/small.json"))
        let log = dir.appendingPathComponent("daemon.log")
        XCTAssertEqual(try runOnce(dir, seconds: 300, log: log), 0)
        let jobs = try store(dir).jobs()
        XCTAssertEqual(jobs.filter { $0.state == .done }.count, 2, jobs.map { "\($0.name): \($0.error ?? "")" }.joined(separator: "; "))

        let dog = try XCTUnwrap(jobs.first { $0.name == "dog" })
        let folder = dir.appendingPathComponent("gallery/jobs/\(dog.id!)")
        XCTAssertEqual(try ImageDecoder.read(path: folder.appendingPathComponent("result.png").path, channels: 3).shape, [1, 3, 256, 256])
        XCTAssertEqual(try ImageDecoder.read(path: folder.appendingPathComponent("stage1.png").path, channels: 3).shape, [1, 3, 64, 64])
        for name in ["comparison.png", "progress.gif", "index.html"] {
            XCTAssertTrue(fm.fileExists(atPath: folder.appendingPathComponent(name).path), name)
        }
        let page = try String(contentsOf: folder.appendingPathComponent("index.html"), encoding: .utf8)
        XCTAssertTrue(page.contains(#"src="result.png""#) && page.contains(#"src="stage1.png""#), page)
        XCTAssertTrue(page.contains("stage I, before upscaling"), page)
        XCTAssertEqual(dog.request?.upscale?.steps, 2)
        let timings = try XCTUnwrap(dog.timings)
        XCTAssertNotNil(timings.seconds["upscale"], timings.json)

        // The job that says no keeps its 64² result and has no stage I file.
        let small = try XCTUnwrap(jobs.first { $0.name == "small" })
        let smallFolder = dir.appendingPathComponent("gallery/jobs/\(small.id!)")
        XCTAssertEqual(try ImageDecoder.read(path: smallFolder.appendingPathComponent("result.png").path, channels: 3).shape, [1, 3, 64, 64])
        XCTAssertFalse(fm.fileExists(atPath: smallFolder.appendingPathComponent("stage1.png").path))
        XCTAssertNil(small.request?.upscale)
    }
}
