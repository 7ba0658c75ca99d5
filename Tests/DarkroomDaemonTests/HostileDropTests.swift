import Foundation
import XCTest
import DarkroomStore

/// The cases a hostile-input run found (issue 11), each replayed against a real `darkroom watch --once`: a user's
/// file is never overwritten, deleted or taken from outside the inbox, and every refusal leaves a note and a record.
final class HostileDropTests: DaemonTestCase {
    func testInputsNamedLikeOutputsKeepTheirBytesAndNames() throws {
        let dir = try workspace(stride: 150)
        let inbox = dir.appendingPathComponent("inbox")
        let bytes = try (1...5).map { try pngData(seed: UInt64($0)) }
        try drop(bytes[0], inbox.appendingPathComponent("input.png"))
        try drop(#"{"mode": "noise", "image": "input.png", "t": [10], "seed": 1}"#, inbox.appendingPathComponent("p1.json"))
        try drop(bytes[1], inbox.appendingPathComponent("result.png"))
        try drop(#"{"mode": "sdedit", "image": "result.png", "strength": 0.5, "seed": 2}"#, inbox.appendingPathComponent("p2.json"))
        try drop(bytes[2], inbox.appendingPathComponent("index.html"))
        try drop(#"{"mode": "noise", "image": "index.html", "t": [10], "seed": 3}"#, inbox.appendingPathComponent("p3.json"))
        try drop(bytes[3], inbox.appendingPathComponent("photo.png"))
        try drop(bytes[4], inbox.appendingPathComponent("mask.png"))
        try drop(#"{"mode": "inpaint", "image": "photo.png", "mask": "mask.png", "seed": 4}"#, inbox.appendingPathComponent("p4.json"))
        XCTAssertEqual(try runOnce(dir), 0)
        let jobs = try store(dir).jobs()
        XCTAssertEqual(jobs.map(\.state), Array(repeating: .done, count: 4), jobs.map { "\($0.name): \($0.error ?? "")" }.joined(separator: "; "))
        let expected: [String: [(String, Data)]] = ["p1": [("input.png", bytes[0])], "p2": [("result.png", bytes[1])],
                                                    "p3": [("index.html", bytes[2])], "p4": [("photo.png", bytes[3]), ("mask.png", bytes[4])]]
        for job in jobs {
            let folder = URL(fileURLWithPath: job.folder)
            for (name, data) in expected[job.name]! {
                XCTAssertEqual(try Data(contentsOf: folder.appendingPathComponent("inputs/\(name)")), data, "\(job.name): \(name) keeps its bytes")
            }
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("inputs/\(job.name).json").path))
            XCTAssertTrue(names(folder).contains { $0.hasPrefix("result") }, "outputs beside inputs/")
            XCTAssertTrue(names(folder).contains("index.html"), "the job page has its own name")
        }
    }

    func testDotfilesPartialCopiesAndSidecarsAreNeverTakenAsImages() throws {
        let dir = try workspace(stride: 150)
        let inbox = dir.appendingPathComponent("inbox")
        let png = try pngData()
        try drop(png, inbox.appendingPathComponent(".photo.tmp"))
        try drop(#"{"mode": "noise", "image": ".photo.tmp", "t": [10]}"#, inbox.appendingPathComponent("hidden.json"))
        try drop(#"{"mode": "noise", "image": "b.json", "t": [10]}"#, inbox.appendingPathComponent("a.json"))
        try drop(#"{"prompt": "a cat", "seed": 5}"#, inbox.appendingPathComponent("b.json"))
        XCTAssertEqual(try runOnce(dir), 0)
        XCTAssertEqual(try Data(contentsOf: inbox.appendingPathComponent(".photo.tmp")), png, "the dotfile stays where it is")
        let rejected = inbox.appendingPathComponent("rejected")
        XCTAssertEqual(try note(rejected.appendingPathComponent("hidden.error.json"))["field"] as? String, "image")
        XCTAssertEqual(try note(rejected.appendingPathComponent("a.error.json"))["field"] as? String, "image")
        let b = try XCTUnwrap(try store(dir).jobs().first { $0.name == "b" })
        XCTAssertEqual(b.state, .done, "job b runs")
        XCTAssertFalse(names(rejected).contains("b.json"))
    }

    func testNothingOutsideTheInboxIsReadOrMovedThroughLinks() throws {
        let dir = try workspace(stride: 150, imageWait: 0)
        let inbox = dir.appendingPathComponent("inbox")
        let outside = dir.appendingPathComponent("outside")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        let png = try pngData()
        try png.write(to: outside.appendingPathComponent("x.png"))
        try Data(#"{"prompt": "a cat"}"#.utf8).write(to: outside.appendingPathComponent("j.json"))
        let before = try snapshot(outside)
        try FileManager.default.createSymbolicLink(atPath: inbox.appendingPathComponent("ld").path, withDestinationPath: outside.path)
        try drop(#"{"mode": "noise", "image": "ld/x.png", "t": [10]}"#, inbox.appendingPathComponent("via-folder.json"))
        try FileManager.default.createSymbolicLink(atPath: inbox.appendingPathComponent("s.png").path, withDestinationPath: outside.appendingPathComponent("x.png").path)
        try drop(#"{"mode": "noise", "t": [10]}"#, inbox.appendingPathComponent("s.json"))
        try FileManager.default.createSymbolicLink(atPath: inbox.appendingPathComponent("j.json").path, withDestinationPath: outside.appendingPathComponent("j.json").path)
        XCTAssertEqual(try runOnce(dir), 0)
        XCTAssertEqual(try snapshot(outside), before, "nothing outside the inbox changed")
        XCTAssertEqual(try store(dir).counts()[.done] ?? 0, 0, "no job ran on a file outside")
        let rejected = inbox.appendingPathComponent("rejected")
        for (sidecar, word) in [("via-folder", "not a folder"), ("s", "symbolic link"), ("j", "symbolic link")] {
            let n = try note(rejected.appendingPathComponent("\(sidecar).error.json"))
            XCTAssertTrue((n["error"] as? String ?? "").contains(word), "\(sidecar): \(n)")
        }
        let moved = try FileManager.default.destinationOfSymbolicLink(atPath: rejected.appendingPathComponent("s.png").path)
        XCTAssertEqual(moved, outside.appendingPathComponent("x.png").path, "the link itself moved, not its target")
        XCTAssertEqual(try store(dir).counts()[.rejected], 3)
    }

    func testBadPathsAreRejectedQuicklyWithANoteAndARecord() throws {
        let dir = try workspace(stride: 150, imageWait: 0)
        let inbox = dir.appendingPathComponent("inbox")
        try FileManager.default.createDirectory(at: inbox.appendingPathComponent("duplicates"), withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: inbox.appendingPathComponent("duplicates/old.txt"))
        let cases = [#""\u0000""#, #""""#, #"".""#, #""rejected""#, #""duplicates""#, #""a/../../x.png""#, #""/etc/passwd""#]
        for (k, value) in cases.enumerated() {
            try drop(#"{"mode": "noise", "t": [10], "image": \#(value)}"#, inbox.appendingPathComponent("img\(k).json"))
            try drop(#"{"mode": "inpaint", "image": "p.png", "mask": \#(value)}"#, inbox.appendingPathComponent("mask\(k).json"))
        }
        let start = Date()
        XCTAssertEqual(try runOnce(dir, seconds: 30), 0)
        XCTAssertLessThan(Date().timeIntervalSince(start), 30)
        let rejected = inbox.appendingPathComponent("rejected")
        for k in cases.indices {
            XCTAssertEqual(try note(rejected.appendingPathComponent("img\(k).error.json"))["field"] as? String, "image", cases[k])
            XCTAssertEqual(try note(rejected.appendingPathComponent("mask\(k).error.json"))["field"] as? String, "mask", cases[k])
        }
        XCTAssertEqual(try store(dir).counts()[.rejected], 2 * cases.count)
        XCTAssertEqual(try String(contentsOf: inbox.appendingPathComponent("duplicates/old.txt"), encoding: .utf8), "keep")
        XCTAssertTrue(names(inbox).isSuperset(of: ["rejected", "duplicates"]))
    }

    func testLongSidecarNamesKeepTheirNotes() throws {
        let dir = try workspace(stride: 150)
        let inbox = dir.appendingPathComponent("inbox")
        var sidecars: [String] = []
        for length in [200, 240, 250, 255] {
            let name = String(repeating: "é", count: (length - 5) / 2) + String(repeating: "x", count: (length - 5) % 2) + ".json"
            XCTAssertEqual(name.utf8.count, length)
            sidecars.append(name)
            try drop(#"{"colour": "red"}"#, inbox.appendingPathComponent(name))
        }
        // The same long name twice: the second keeps its own note.
        XCTAssertEqual(try runOnce(dir), 0)
        try drop(#"{"colour": "blue"}"#, inbox.appendingPathComponent(sidecars[3]))
        XCTAssertEqual(try runOnce(dir), 0)
        let rejected = inbox.appendingPathComponent("rejected")
        let notes = try names(rejected).filter { $0.hasSuffix(".error.json") }.map { try note(rejected.appendingPathComponent($0)) }
        XCTAssertEqual(notes.count, 5)
        XCTAssertEqual(Set(notes.compactMap { $0["sidecar"] as? String }), Set(sidecars))
        for n in notes { XCTAssertTrue(names(rejected).contains(n["moved_to"] as! String)) }
        XCTAssertEqual(try store(dir).counts()[.rejected], 5)
    }

    func testTheSameContentUnderAnotherNameGoesToDuplicates() throws {
        let dir = try workspace(stride: 150)
        let inbox = dir.appendingPathComponent("inbox")
        let png = try pngData()
        try drop(png, inbox.appendingPathComponent("a.png"))
        try drop(#"{"mode": "noise", "t": [10]}"#, inbox.appendingPathComponent("a.json"))
        XCTAssertEqual(try runOnce(dir), 0)
        try drop(png, inbox.appendingPathComponent("b.png"))
        try drop(#"{"t": [10], "mode": "noise"}"#, inbox.appendingPathComponent("b.json"))
        XCTAssertEqual(try runOnce(dir), 0)
        let jobs = try store(dir).jobs()
        XCTAssertEqual(jobs.count, 1, "one job for one content")
        let duplicates = inbox.appendingPathComponent("duplicates")
        XCTAssertEqual(names(duplicates), ["b.json", "b.png", "b.duplicate.json"])
        XCTAssertEqual(try Data(contentsOf: duplicates.appendingPathComponent("b.png")), png)
        let n = try note(duplicates.appendingPathComponent("b.duplicate.json"))
        XCTAssertEqual(n["duplicate_of"] as? Int, Int(jobs[0].id!))
        XCTAssertEqual(n["original"] as? String, "a")
        XCTAssertEqual(names(URL(fileURLWithPath: jobs[0].folder).appendingPathComponent("inputs")), ["a.json", "a.png"])
    }

    func testEverySidecarFaultIsCaughtAtIntakeNamingTheField() throws {
        let dir = try workspace(stride: 100)
        let inbox = dir.appendingPathComponent("inbox")
        try drop(try pngData(), inbox.appendingPathComponent("levels.png"))
        try drop(#"{"mode": "sdedit", "stride": 100, "noise_levels": [1, 2, 3]}"#, inbox.appendingPathComponent("levels.json"))
        try drop(#"{"mode": "anagram", "prompts": ["a cat", "a dog"], "view": "negate"}"#, inbox.appendingPathComponent("negate.json"))
        try drop(#"{"mode": "sdedit", "noise_level": 1e400}"#, inbox.appendingPathComponent("huge.json"))
        try drop(Data("not a png at all".utf8), inbox.appendingPathComponent("corrupt.png"))
        try drop(#"{"mode": "noise", "t": [10]}"#, inbox.appendingPathComponent("corrupt.json"))
        var truncated = try pngData()
        truncated.removeLast(40)
        try drop(truncated, inbox.appendingPathComponent("cut.png"))
        try drop(#"{"mode": "noise", "t": [10]}"#, inbox.appendingPathComponent("cut.json"))
        XCTAssertEqual(mkfifo(inbox.appendingPathComponent("fifo.png").path, 0o644), 0)
        try drop(#"{"mode": "noise", "t": [10]}"#, inbox.appendingPathComponent("fifo.json"))
        XCTAssertEqual(try runOnce(dir, seconds: 30), 0)
        let rejected = inbox.appendingPathComponent("rejected")
        let expected = ["levels": ("noise_levels", "outside"), "negate": ("view", "symmetric"), "huge": ("noise_level", "double"),
                        "corrupt": ("image", "not a PNG"), "cut": ("image", "cannot read image"), "fifo": ("image", "FIFO")]
        for (name, (field, word)) in expected {
            let n = try note(rejected.appendingPathComponent("\(name).error.json"))
            XCTAssertEqual(n["field"] as? String, field, name)
            XCTAssertTrue((n["error"] as? String ?? "").contains(word), "\(name): \(n["error"] ?? "")")
        }
        let states = try store(dir).jobs().map(\.state)
        XCTAssertEqual(states, Array(repeating: .rejected, count: 6), "rejected at intake, never failed in the worker")
        var info = stat()
        XCTAssertEqual(lstat(rejected.appendingPathComponent("fifo.png").path, &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFIFO, "the FIFO moved as it was")
    }

    func testHugeValuesAreRefusedWithShortNotes() throws {
        let dir = try workspace(stride: 150)
        let inbox = dir.appendingPathComponent("inbox")
        let tenMB = String(repeating: "a", count: 10_000_000)
        try drop(#"{"prompt": "\#(tenMB)"}"#, inbox.appendingPathComponent("big.json"))
        let long = String(repeating: "b", count: 5_000)
        try drop(#"{"prompt": "\#(long)"}"#, inbox.appendingPathComponent("long.json"))
        try drop(#"{"mode": "anagram", "prompts": ["a cat", "\#(long)"]}"#, inbox.appendingPathComponent("longs.json"))
        try drop(#"{"model": "\#(long)"}"#, inbox.appendingPathComponent("model.json"))
        try drop(#"{"\#(long)": 1}"#, inbox.appendingPathComponent("key.json"))
        let many = (1...20_000).map { _ in "5" }.joined(separator: ",")
        try drop(#"{"mode": "noise", "t": [\#(many)]}"#, inbox.appendingPathComponent("many.json"))
        let start = Date()
        XCTAssertEqual(try runOnce(dir, seconds: 60), 0)
        XCTAssertLessThan(Date().timeIntervalSince(start), 60)
        let rejected = inbox.appendingPathComponent("rejected")
        let expected: [String: String?] = ["big": nil, "long": "prompt", "longs": "prompts", "model": "model", "many": "t"]
        for (name, field) in expected {
            let url = rejected.appendingPathComponent("\(name).error.json")
            let size = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int)
            XCTAssertLessThan(size, 4_000, "\(name): the note quotes only a prefix")
            XCTAssertEqual(try note(url)["field"] as? String, field, name)
        }
        XCTAssertLessThan(try note(rejected.appendingPathComponent("key.error.json")).description.count, 4_000)
        for job in try store(dir).jobs() { XCTAssertLessThan(job.error?.count ?? 0, 2_100, job.name) }
        let index = try Data(contentsOf: dir.appendingPathComponent("gallery/index.html"))
        XCTAssertLessThan(index.count, 200_000, "the index stays small")
    }

    func testPhonePhotosAreTakenAndStrayImagesAreNeverLeftBehind() throws {
        let dir = try workspace(stride: 150)
        let inbox = dir.appendingPathComponent("inbox")
        // A sideways phone photo (EXIF orientation 6), as its sidecar's implied NAME.jpg.
        let jpeg = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../DarkroomImagingTests/Fixtures/pillow/orient6.jpg").standardized
        let photo = try Data(contentsOf: jpeg)
        try drop(photo, inbox.appendingPathComponent("phone.jpg"))
        try drop(#"{"mode": "sdedit", "strength": 0.5, "prompt": "a cat"}"#, inbox.appendingPathComponent("phone.json"))
        // An image dropped with a sidecar whose mode takes none.
        try drop(try pngData(), inbox.appendingPathComponent("gen.png"))
        try drop(#"{"prompt": "a dog"}"#, inbox.appendingPathComponent("gen.json"))
        XCTAssertEqual(try runOnce(dir), 0)
        let phone = try XCTUnwrap(try store(dir).jobs().first { $0.name == "phone" })
        XCTAssertEqual(phone.state, .done, phone.error ?? "")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: phone.folder).appendingPathComponent("inputs/phone.jpg")), photo)
        let rejected = inbox.appendingPathComponent("rejected")
        let note = try note(rejected.appendingPathComponent("gen.error.json"))
        XCTAssertEqual(note["field"] as? String, "mode")
        XCTAssertTrue((note["error"] as? String ?? "").contains("takes no image"))
        XCTAssertTrue(names(rejected).isSuperset(of: ["gen.json", "gen.png"]), "the stray image goes with its sidecar")
        XCTAssertEqual(names(inbox), ["rejected", "duplicates"], "nothing is left in the inbox")
    }

    func testConfigRefusesFoldersThatWouldExposeOtherFiles() throws {
        let dir = try workspace()
        let config = dir.appendingPathComponent("config.json")
        try Data("a file".utf8).write(to: dir.appendingPathComponent("afile"))
        let cases: [(String, String)] = [
            (#""inbox": "/""#, "inbox"), (#""inbox": """#, "inbox"), (#""gallery": "/""#, "gallery"),
            (#""inbox": "afile""#, "inbox"), (#""gallery": "afile""#, "gallery"), (#""inbox": "gallery/in""#, "gallery"),
            (#""gallery": "inbox/g""#, "gallery"), (#""inbox": ".""#, "inbox"), (#""database": "inbox/db.sqlite""#, "inbox"),
            (#""database": """#, "database"),
        ]
        for (setting, key) in cases {
            try #"{"models": {"tiny": "models/tiny"}, \#(setting)}"#.write(to: config, atomically: true, encoding: .utf8)
            let (status, output) = try command(["watch", "--once", "--config", config.path])
            XCTAssertNotEqual(status, 0, setting)
            XCTAssertTrue(output.contains("\(key):"), "\(setting) → \(output)")
        }
        XCTAssertEqual(try String(contentsOf: dir.appendingPathComponent("afile"), encoding: .utf8), "a file")
    }

    /// The contents of every file below `folder`, by path (folders as "<folder>").
    func snapshot(_ folder: URL) throws -> [String: Data] {
        var out: [String: Data] = [:]
        let e = FileManager.default.enumerator(atPath: folder.path)!
        while let relative = e.nextObject() as? String {
            let path = folder.appendingPathComponent(relative).path
            out[relative] = FileManager.default.contents(atPath: path) ?? Data("<folder>".utf8)
        }
        return out
    }
}
