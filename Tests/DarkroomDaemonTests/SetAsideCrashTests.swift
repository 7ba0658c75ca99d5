import Foundation
import XCTest
import DarkroomJobModel
import DarkroomStore
import DarkroomTestSupport

/// kill -9 while a drop is being moved to `rejected/` or `duplicates/` (issue 25): the next start finishes the move,
/// so every file ends in exactly one place, the note is written once and a rejection is recorded once.
final class SetAsideCrashTests: DaemonTestCase {
    /// Where `DARKROOM_TEST_KILL_AT` stops a set-aside: after the sidecar moved (its image still in the inbox), after
    /// every file moved (no note yet), after the note (not yet recorded).
    static let killPoints = ["set-aside-sidecar-moved", "set-aside-moved", "set-aside-noted"]

    /// Runs `darkroom watch --once` with the kill hook at `point` and waits (at most 60 s) for it to die of SIGKILL.
    func runKilled(_ dir: URL, at point: String) throws {
        let p = try start(dir, once: true, environment: ["DARKROOM_TEST_KILL_AT": point])
        let deadline = Date().addingTimeInterval(60)
        while p.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitForExit(); XCTFail("\(point): the kill hook never fired") }
        XCTAssertEqual(p.terminationReason, .uncaughtSignal, point)
        XCTAssertEqual(p.terminationStatus, SIGKILL, point)
    }

    func testAKillDuringARejectionLeavesEveryFileInExactlyOnePlace() throws {
        let png = try pngData()
        for point in Self.killPoints {
            let dir = try workspace()
            let inbox = dir.appendingPathComponent("inbox"), rejected = inbox.appendingPathComponent("rejected")
            try drop(png, inbox.appendingPathComponent("bad.png"))
            try drop(#"{"mode": "paint", "prompt": "a cat"}"#, inbox.appendingPathComponent("bad.json"))
            try runKilled(dir, at: point)
            XCTAssertTrue(names(rejected).contains("bad.json"), "\(point): the sidecar moved before the kill")
            if point == "set-aside-sidecar-moved" {
                XCTAssertTrue(names(inbox).contains("bad.png"), "\(point): the kill came between the two moves")
            }

            XCTAssertEqual(try runOnce(dir), 0, point)
            XCTAssertEqual(names(inbox), ["rejected", "duplicates"], "\(point): nothing left in the inbox")
            XCTAssertEqual(names(rejected), ["bad.json", "bad.png", "bad.error.json"], "\(point): each file once, one note, no manifest")
            XCTAssertEqual(try Data(contentsOf: rejected.appendingPathComponent("bad.png")), png, point)
            let note = try self.note(rejected.appendingPathComponent("bad.error.json"))
            XCTAssertEqual(note["moved_to"] as? String, "bad.json", point)
            XCTAssertEqual(note["field"] as? String, "mode", point)
            XCTAssertEqual((note["files"] as? [[String: String]])?.map { $0["moved_to"] ?? "" }, ["bad.json", "bad.png"], point)
            let rows = try store(dir).jobs()
            XCTAssertEqual(rows.map(\.state), [.rejected], "\(point): the rejection is recorded once")
            XCTAssertEqual(rows.first?.parameters, .rejection, point)
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("gallery/jobs/\(rows.first?.id ?? 0)/index.html").path),
                          "\(point): the rejection has its page")
        }
    }

    func testAKillDuringADuplicateMoveLeavesEveryFileInExactlyOnePlace() throws {
        let png = try pngData()
        let sidecar = #"{"mode": "sdedit", "prompt": "a cat", "noise_levels": [1], "seed": 3}"#
        for point in Self.killPoints {
            let dir = try workspace()
            let inbox = dir.appendingPathComponent("inbox"), duplicates = inbox.appendingPathComponent("duplicates")
            try drop(png, inbox.appendingPathComponent("first.png"))
            try drop(sidecar, inbox.appendingPathComponent("first.json"))
            XCTAssertEqual(try runOnce(dir), 0, point)
            XCTAssertEqual(try store(dir).counts()[.done], 1, point)
            try drop(png, inbox.appendingPathComponent("again.png"))
            try drop(sidecar, inbox.appendingPathComponent("again.json"))
            try runKilled(dir, at: point)

            XCTAssertEqual(try runOnce(dir), 0, point)
            XCTAssertEqual(names(inbox), ["rejected", "duplicates"], "\(point): nothing left in the inbox")
            XCTAssertEqual(names(duplicates), ["again.json", "again.png", "again.duplicate.json"], "\(point): each file once, one note, no manifest")
            XCTAssertEqual(try Data(contentsOf: duplicates.appendingPathComponent("again.png")), png, point)
            let note = try self.note(duplicates.appendingPathComponent("again.duplicate.json"))
            XCTAssertEqual(note["duplicate_of"] as? Int, 1, point)
            XCTAssertEqual((note["files"] as? [[String: String]])?.map { $0["file"] ?? "" }, ["again.json", "again.png"], point)
            XCTAssertEqual(try store(dir).jobs().count, 1, "\(point): a duplicate is never a row")
        }
    }
}
