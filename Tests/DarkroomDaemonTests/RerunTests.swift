import Foundation
import XCTest
import DarkroomImaging
import DarkroomJobs
import DarkroomJobModel

/// `darkroom run RESULT.png` against results of a real `darkroom watch`: the job read back from the `darkroom` chunk
/// gives the same bytes, `--seed` changes only the seed, and what is not a runnable result is a clear error.
final class RerunTests: DaemonTestCase {
    func testARunFromAResultPNGReproducesItByteForByteAndSeedChangesOnlyTheSeed() throws {
        let dir = try workspace(extra: PresetFolderTests.presets)
        let inbox = dir.appendingPathComponent("inbox"), config = dir.appendingPathComponent("config.json").path
        try FileManager.default.createDirectory(at: inbox.appendingPathComponent("ladder"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: inbox.appendingPathComponent("mend"), withIntermediateDirectories: true)
        try drop(try pngData(seed: 1), inbox.appendingPathComponent("ladder/photo.png"))
        try drop(try pngData(seed: 2), inbox.appendingPathComponent("mend/coat.png"))
        try drop(try pngData(seed: 3), inbox.appendingPathComponent("mend/coat.mask.png"))
        try drop(#"{"mode": "generate", "prompt": "dog", "count": 2}"#, inbox.appendingPathComponent("pets.json"))
        XCTAssertEqual(try runOnce(dir), 0)
        let jobs = try store(dir).jobs()
        XCTAssertEqual(jobs.map(\.state), [.done, .done, .done], jobs.map { $0.error ?? "" }.joined())
        for job in jobs {
            let folder = URL(fileURLWithPath: job.folder)
            let results = names(folder).filter { $0.hasPrefix("result") }.sorted()
            XCTAssertFalse(results.isEmpty, job.name)
            let again = dir.appendingPathComponent("again/\(job.name)")
            let (status, output) = try command(["run", folder.appendingPathComponent(results[0]).path, "--config", config, "--out", again.path])
            XCTAssertEqual(status, 0, output)
            let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], output)
            XCTAssertEqual(summary["status"] as? String, "done")
            XCTAssertEqual((summary["seed"] as? NSNumber)?.int64Value, job.seed)
            for name in results {
                XCTAssertEqual(try Data(contentsOf: again.appendingPathComponent(name)), try Data(contentsOf: folder.appendingPathComponent(name)),
                               "\(job.name)/\(name) is the same bytes run again")
            }
            // The re-run's folder holds its inputs, so it can be run again in turn.
            let twice = dir.appendingPathComponent("twice/\(job.name)")
            XCTAssertEqual(try command(["run", again.appendingPathComponent(results[0]).path, "--config", config, "--out", twice.path]).0, 0)
            XCTAssertEqual(try Data(contentsOf: twice.appendingPathComponent(results[0])), try Data(contentsOf: folder.appendingPathComponent(results[0])))

            let reseeded = dir.appendingPathComponent("reseeded/\(job.name)")
            let (s2, o2) = try command(["run", folder.appendingPathComponent(results[0]).path, "--config", config, "--out", reseeded.path, "--seed", "424242"])
            XCTAssertEqual(s2, 0, o2)
            let chunk = try ResultChunk.read(pngAt: reseeded.appendingPathComponent(results[0]).path)
            var expected = try ResultChunk.read(pngAt: folder.appendingPathComponent(results[0]).path)
            expected.request.seed = 424242
            XCTAssertEqual(chunk, expected, "\(job.name): only the seed changed")
            XCTAssertNotEqual(try Data(contentsOf: reseeded.appendingPathComponent(results[0])), try Data(contentsOf: folder.appendingPathComponent(results[0])))
        }
        let mended = try XCTUnwrap(jobs.first { $0.name == "coat" })
        let chunk = try ResultChunk.read(pngAt: URL(fileURLWithPath: mended.folder).appendingPathComponent("result.png").path)
        XCTAssertEqual(chunk.model, "tiny")
        XCTAssertEqual(chunk.image, "inputs/coat.png")
        XCTAssertEqual(chunk.mask, "inputs/coat.mask.png")
    }

    func testAPNGThatIsNotARunnableResultIsAClearError() throws {
        let dir = try workspace()
        let config = dir.appendingPathComponent("config.json").path
        let plain = dir.appendingPathComponent("plain.png")
        try pngData(seed: 9).write(to: plain)
        let (status, output) = try command(["run", plain.path, "--config", config])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("has no 'darkroom' chunk"), output)

        // A result taken out of its job folder: its input is not beside it any more.
        try drop(try pngData(seed: 1), dir.appendingPathComponent("inbox/p.png"))
        try drop(#"{"mode": "sdedit", "prompt": "cat", "noise_levels": [1]}"#, dir.appendingPathComponent("inbox/p.json"))
        XCTAssertEqual(try runOnce(dir), 0)
        let job = try XCTUnwrap(try store(dir).jobs().first)
        let alone = dir.appendingPathComponent("alone.png")
        try FileManager.default.copyItem(atPath: job.folder + "/result.png", toPath: alone.path)
        let (s2, o2) = try command(["run", alone.path, "--config", config])
        XCTAssertNotEqual(s2, 0)
        XCTAssertTrue(o2.contains("image: the job's image 'inputs/p.png' is not beside"), o2)

        // A chunk naming a file outside its folder is refused, not read.
        var chunk = try ResultChunk.read(pngAt: alone.path)
        chunk.image = "../../etc/p.png"
        let foreign = dir.appendingPathComponent("foreign.png")
        try PNGWriter.write(try ImageDecoder.read(path: alone.path, channels: 1), to: foreign.path, text: [(ResultChunk.keyword, try chunk.text())])
        let (s3, o3) = try command(["run", foreign.path, "--config", config])
        XCTAssertNotEqual(s3, 0)
        XCTAssertTrue(o3.contains("which is not a path inside its folder"), o3)
    }

    func testARunOfASidecarKeepsItsInputsSoThatItsResultRunsAgainAlike() throws {
        let dir = try workspace()
        let config = dir.appendingPathComponent("config.json").path
        let here = dir.appendingPathComponent("here")
        try FileManager.default.createDirectory(at: here, withIntermediateDirectories: true)
        try pngData(seed: 4).write(to: here.appendingPathComponent("cat.png"))
        try #"{"mode": "sdedit", "prompt": "cat", "noise_levels": [1], "seed": 8}"#.write(to: here.appendingPathComponent("cat.json"), atomically: true, encoding: .utf8)
        // The results go beside the photo: the photo is still kept in inputs/, as a job folder keeps it.
        let (s1, o1) = try command(["run", here.appendingPathComponent("cat.json").path, "--config", config, "--out", here.path])
        XCTAssertEqual(s1, 0, o1)
        XCTAssertEqual(try ResultChunk.read(pngAt: here.appendingPathComponent("result.png").path).image, "inputs/cat.png")
        XCTAssertEqual(try Data(contentsOf: here.appendingPathComponent("inputs/cat.png")), try pngData(seed: 4))
        let again = dir.appendingPathComponent("again")
        let (s2, o2) = try command(["run", here.appendingPathComponent("result.png").path, "--config", config, "--out", again.path])
        XCTAssertEqual(s2, 0, o2)
        XCTAssertEqual(try Data(contentsOf: again.appendingPathComponent("result.png")), try Data(contentsOf: here.appendingPathComponent("result.png")))
    }
}
