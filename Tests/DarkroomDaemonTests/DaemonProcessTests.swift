import Foundation
import XCTest
import DarkroomImaging
import DarkroomModels
import DarkroomStore
import DarkroomTensor
import DarkroomTestSupport
import DarkroomTraining

/// The daemon as users run it: a real `darkroom watch` process, real files, real SQLite.
final class DaemonProcessTests: DaemonTestCase {
    func testDroppedPairsBecomeFinishedJobs() throws {
        let dir = try workspace()
        let daemon = try start(dir)
        let inbox = dir.appendingPathComponent("inbox")
        // Atomic rename drop: image first, then the sidecar.
        try drop(try pngData(), inbox.appendingPathComponent("a.png"))
        try drop(Data(#"{"mode": "sdedit", "prompt": "a dog", "strength": 0.5, "seed": 1}"#.utf8), inbox.appendingPathComponent("a.json"))
        // Slow copy: the sidecar is written in pieces with pauses (complete only at close).
        let handle = try FileHandle(forWritingTo: { _ = FileManager.default.createFile(atPath: inbox.appendingPathComponent("b.json").path, contents: nil); return inbox.appendingPathComponent("b.json") }())
        for piece in [#"{"prompt": "#, #""a cat", "#, #""count": 2}"#] {
            handle.write(Data(piece.utf8))
            Thread.sleep(forTimeInterval: 0.15)
        }
        try handle.close()
        try waitFor(60, "two finished jobs") { try store(dir).counts()[.done] == 2 }
        let jobs = try store(dir).jobs()
        XCTAssertEqual(Set(jobs.map(\.name)), ["a", "b"])
        for j in jobs {
            let results = try store(dir).results(of: j.id!)
            XCTAssertFalse(results.isEmpty)
            for r in results { XCTAssertTrue(FileManager.default.fileExists(atPath: r.path), r.path) }
            XCTAssertTrue(j.folder.hasSuffix("gallery/jobs/\(j.id!)"))
        }
        let a = try XCTUnwrap(jobs.first { $0.name == "a" })
        XCTAssertTrue(FileManager.default.fileExists(atPath: a.folder + "/inputs/a.png"), "inputs moved into the job folder")
        XCTAssertTrue(FileManager.default.fileExists(atPath: a.folder + "/inputs/a.json"), "the sidecar too")
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: inbox.path).filter { !$0.hasPrefix(".") }), ["rejected", "duplicates"],
                       "only Darkroom's own folders are left")
        daemon.terminate()
        daemon.waitForExit()
        XCTAssertEqual(daemon.terminationStatus, 0, "SIGTERM stops cleanly")
    }

    func testBadDropsAreRejectedWithTheirReasonAndNothingIsLost() throws {
        let dir = try workspace()
        let inbox = dir.appendingPathComponent("inbox")
        try drop(try pngData(), inbox.appendingPathComponent("bad.png"))
        try drop(Data(#"{"mode": "sdedit", "colour": "red"}"#.utf8), inbox.appendingPathComponent("bad.json"))
        try drop(Data(#"{"mode": "noise", "image": "gone.png"}"#.utf8), inbox.appendingPathComponent("lonely.json"))
        try drop(Data("not json".utf8), inbox.appendingPathComponent("garbage.json"))
        try drop(try pngData(), inbox.appendingPathComponent("waiting.png"))
        try drop(Data("x".utf8), inbox.appendingPathComponent(".hidden.json"))
        let daemon = try start(dir)
        let rejected = inbox.appendingPathComponent("rejected")
        try waitFor(30, "three rejections") { try store(dir).counts()[.rejected] == 3 }
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: rejected.path))
        XCTAssertEqual(files, ["bad.json", "bad.png", "bad.error.json", "lonely.json", "lonely.error.json", "garbage.json", "garbage.error.json"])
        let note = try JSONSerialization.jsonObject(with: Data(contentsOf: rejected.appendingPathComponent("bad.error.json"))) as! [String: Any]
        XCTAssertEqual(note["field"] as? String, "colour")
        let lonely = try JSONSerialization.jsonObject(with: Data(contentsOf: rejected.appendingPathComponent("lonely.error.json"))) as! [String: Any]
        XCTAssertEqual(lonely["field"] as? String, "image")
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: inbox.path))
        XCTAssertTrue(left.contains("waiting.png"), "an image without a sidecar waits")
        XCTAssertTrue(left.contains(".hidden.json"), "dotfiles are ignored")
        daemon.terminate()
        daemon.waitForExit()
    }

    func testKilledDuringAJobTheJobCompletesExactlyOnceAfterRestart() throws {
        let dir = try workspace(stride: 1)
        let inbox = dir.appendingPathComponent("inbox")
        try drop(Data(#"{"prompt": "a cat", "count": 64, "stride": 2, "seed": 3}"#.utf8), inbox.appendingPathComponent("slow.json"))
        let first = try start(dir)
        try waitFor(30, "the job to start") { try store(dir).jobs(state: .running).count == 1 }
        Thread.sleep(forTimeInterval: 0.3)
        kill(first.processIdentifier, SIGKILL)
        first.waitForExit()
        let job = try XCTUnwrap(try store(dir).jobs().first)
        XCTAssertEqual(job.state, .running, "killed mid-job")
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: job.folder).contains { $0.hasPrefix("result") },
                       "no result file before the job finished")
        let second = try start(dir)
        try waitFor(120, "the job to finish after the restart") { try store(dir).job(job.id!)?.state == .done }
        let done = try XCTUnwrap(try store(dir).job(job.id!))
        XCTAssertEqual(done.attempts, 2)
        XCTAssertEqual(try store(dir).jobs().count, 1)
        let names = try FileManager.default.contentsOfDirectory(atPath: done.folder)
        XCTAssertEqual(names.filter { $0.hasPrefix("result-") }.count, 64)
        // The gallery writes the job's files once more as it exports the ended job: wait for that to finish.
        try waitFor(10, "no partial output remains") {
            !(try FileManager.default.contentsOfDirectory(atPath: done.folder)).contains { $0.hasSuffix(".tmp") }
        }
        second.terminate()
        second.waitForExit()
    }

    func testABurstOf300JobsAllComplete() throws {
        let dir = try workspace(stride: 150)
        let inbox = dir.appendingPathComponent("inbox")
        let daemon = try start(dir)
        for k in 0..<300 {
            try drop(Data(#"{"prompt": "\#(k % 2 == 0 ? "a cat" : "a dog")", "seed": \#(k)}"#.utf8), inbox.appendingPathComponent("burst\(k).json"))
        }
        try waitFor(240, "300 finished jobs") { try store(dir).counts()[.done] == 300 }
        XCTAssertEqual(try store(dir).jobs(limit: 1000).count, 300)
        daemon.terminate()
        daemon.waitForExit()
    }

    func testOnceProcessesTheInboxAndExits() throws {
        let dir = try workspace()
        try drop(Data(#"{"prompt": "a cat", "seed": 9}"#.utf8), dir.appendingPathComponent("inbox/one.json"))
        let p = try start(dir, once: true)
        p.waitForExit()
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertEqual(try store(dir).counts()[.done], 1)
    }

    func testGalleryRebuildRestoresInputsAndResultsFromTheDatabase() throws {
        let dir = try workspace()
        let png = try pngData(seed: 11)
        try drop(png, dir.appendingPathComponent("inbox/photo.png"))
        try drop(#"{"mode": "sdedit", "prompt": "a cat", "seed": 9}"#, dir.appendingPathComponent("inbox/photo.json"))
        XCTAssertEqual(try runOnce(dir), 0)
        let job = try XCTUnwrap(try store(dir).jobs().first)
        XCTAssertEqual(job.state, .done)
        let folder = URL(fileURLWithPath: job.folder)
        let before = try Dictionary(uniqueKeysWithValues: ["result.png", "progress.gif", "comparison.png", "inputs/photo.png", "inputs/photo.json"].map {
            ($0, try Data(contentsOf: folder.appendingPathComponent($0)))
        })
        XCTAssertEqual(before["inputs/photo.png"], png, "the input keeps its bytes")
        try FileManager.default.removeItem(at: folder)
        let (status, output) = try command(["gallery", "--rebuild", "--config", dir.appendingPathComponent("config.json").path])
        XCTAssertEqual(status, 0, output)
        for (name, data) in before {
            XCTAssertEqual(FileManager.default.contents(atPath: folder.appendingPathComponent(name).path), data, "\(name) restored from the database")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("index.html").path))
    }
}
