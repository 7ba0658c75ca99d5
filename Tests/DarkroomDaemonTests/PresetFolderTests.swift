import Foundation
import XCTest
import DarkroomStore
import DarkroomJobModel

/// Preset folders against a real `darkroom watch`: a photo dropped alone (anywhere under `inbox/<preset>/`) becomes a
/// job with the preset's fields, masks pair by name, a sidecar beside a photo adds to the preset, a prompt file queues
/// a job per line, and what sync clients leave behind is never taken.
final class PresetFolderTests: DaemonTestCase {
    /// The presets of these tests, on the tiny model (classes "cat" and "dog", stride 100).
    static let presets = #"""
        , "presets": {"ladder": {"mode": "sdedit", "prompt": "cat", "noise_levels": [0, 1]},
                      "mend": {"mode": "inpaint", "prompt": "dog"},
                      "pets": {"mode": "generate", "count": 2},
                      "pairs": {"mode": "hybrid"}}
        """#

    func testAPhotoAnywhereUnderAPresetFolderBecomesAJobWithThePresetsFields() throws {
        let dir = try workspace(extra: PresetFolderTests.presets)
        let inbox = dir.appendingPathComponent("inbox")
        try FileManager.default.createDirectory(at: inbox.appendingPathComponent("ladder/phone/2026"), withIntermediateDirectories: true)
        let a = try pngData(seed: 1), b = try pngData(seed: 2)
        try drop(a, inbox.appendingPathComponent("ladder/a.png"))
        try drop(b, inbox.appendingPathComponent("ladder/phone/2026/b.png"))
        XCTAssertEqual(try runOnce(dir), 0)
        for name in ["ladder", "mend", "pets", "pairs"] {
            var s = stat()
            XCTAssertEqual(stat(inbox.appendingPathComponent(name).path, &s), 0, "watch creates inbox/\(name)/")
            var parent = stat()
            stat(inbox.path, &parent)
            XCTAssertEqual(s.st_mode & 0o777, parent.st_mode & 0o777, "inbox/\(name)/ has the inbox's mode")
        }
        let jobs = try store(dir).jobs().sorted { $0.name < $1.name }
        XCTAssertEqual(jobs.map(\.name), ["a", "b"], "named after the files")
        for (job, bytes) in zip(jobs, [a, b]) {
            XCTAssertEqual(job.state, .done, job.error ?? "")
            XCTAssertEqual(job.preset, "ladder")
            XCTAssertEqual(job.request?.mode, .sdedit)
            XCTAssertEqual(job.request?.prompt, "cat")
            XCTAssertEqual(job.request?.noiseLevels, [0, 1])
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: job.folder).appendingPathComponent("inputs/\(job.name).png")), bytes)
        }
        XCTAssertNotEqual(jobs[0].seed, jobs[1].seed, "a seed is chosen per job and recorded")
        XCTAssertTrue(names(inbox.appendingPathComponent("ladder/phone/2026")).isEmpty, "the photos left the inbox")
        let (status, json) = try command(["status", "--json", "--config", dir.appendingPathComponent("config.json").path])
        XCTAssertEqual(status, 0)
        let rows = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        XCTAssertEqual(rows.compactMap { $0["preset"] as? String }, ["ladder", "ladder"])
        let (_, listing) = try command(["presets", "--config", dir.appendingPathComponent("config.json").path])
        XCTAssertTrue(listing.contains("inbox/mend") && listing.contains("NAME.mask.png"), listing)
        let (_, table) = try command(["status", "--config", dir.appendingPathComponent("config.json").path])
        XCTAssertTrue(table.contains("ladder"), "status shows the preset: \(table)")
        let index = try String(contentsOf: dir.appendingPathComponent("gallery/index.html"), encoding: .utf8)
        XCTAssertTrue(index.contains(#"<select id="preset">"#) && index.contains(#"data-preset="ladder""#), "the gallery filters by preset")
    }

    func testMasksPairByNameAndAPhotoWhoseMaskNeverComesIsRejectedNamingIt() throws {
        let dir = try workspace(imageWait: 2, extra: PresetFolderTests.presets)
        let inbox = dir.appendingPathComponent("inbox")
        let p = try start(dir)
        try waitFor(20, "inbox/mend/") { FileManager.default.fileExists(atPath: inbox.appendingPathComponent("mend").path) }
        let mend = inbox.appendingPathComponent("mend")
        let x = try pngData(seed: 3), xMask = try pngData(seed: 4), y = try pngData(seed: 5), yMask = try pngData(seed: 6)
        try drop(xMask, mend.appendingPathComponent("lonely.mask.png"))
        try drop(x, mend.appendingPathComponent("x.png"))
        try drop(xMask, mend.appendingPathComponent("x.mask.png"))
        try drop(y, mend.appendingPathComponent("y.png"))
        Thread.sleep(forTimeInterval: 1)
        try drop(yMask, mend.appendingPathComponent("y.mask.png"))
        try drop(try pngData(seed: 7), mend.appendingPathComponent("z.png"))
        try waitFor(30, "x and y done, z rejected") {
            let jobs = try store(dir).jobs()
            return jobs.filter { $0.state == .done }.count == 2 && jobs.contains { $0.name == "z" && $0.state == .rejected }
        }
        let jobs = try store(dir).jobs()
        for (name, image, mask) in [("x", x, xMask), ("y", y, yMask)] {
            let job = try XCTUnwrap(jobs.first { $0.name == name })
            let folder = URL(fileURLWithPath: job.folder)
            XCTAssertEqual(job.request?.mode, .inpaint)
            XCTAssertEqual(try Data(contentsOf: folder.appendingPathComponent("inputs/\(name).png")), image)
            XCTAssertEqual(try Data(contentsOf: folder.appendingPathComponent("inputs/\(name).mask.png")), mask, "\(name)'s own mask")
        }
        let z = try XCTUnwrap(jobs.first { $0.name == "z" })
        XCTAssertTrue(z.error?.contains("mend/z.mask.png") == true, z.error ?? "")
        XCTAssertEqual(z.preset, "mend")
        XCTAssertTrue(names(inbox.appendingPathComponent("rejected")).contains("z.png"))
        XCTAssertEqual(names(mend), ["lonely.mask.png"], "a mask alone is never a job, and stays")
        XCTAssertEqual(jobs.count, 3)
        p.terminate()
        p.waitForExit()
    }

    func testASidecarBesideAPhotoAddsToAndOverridesThePresetsFields() throws {
        let dir = try workspace(extra: PresetFolderTests.presets)
        let ladder = dir.appendingPathComponent("inbox/ladder")
        try FileManager.default.createDirectory(at: ladder, withIntermediateDirectories: true)
        try drop(try pngData(seed: 8), ladder.appendingPathComponent("shot.png"))
        let own = #"{"prompt": "dog", "seed": 77, "guidance": 2}"#
        try drop(own, ladder.appendingPathComponent("shot.json"))
        try drop(try pngData(seed: 9), ladder.appendingPathComponent("bad.png"))
        try drop(#"{"image": "other.png"}"#, ladder.appendingPathComponent("bad.json"))
        XCTAssertEqual(try runOnce(dir), 0)
        let jobs = try store(dir).jobs()
        let shot = try XCTUnwrap(jobs.first { $0.name == "shot" })
        XCTAssertEqual(shot.state, .done, shot.error ?? "")
        XCTAssertEqual(shot.request?.prompt, "dog", "the sidecar overrides the preset")
        XCTAssertEqual(shot.seed, 77)
        XCTAssertEqual(shot.request?.guidance, 2)
        XCTAssertEqual(shot.request?.noiseLevels, [0, 1], "and the preset fills in the rest")
        XCTAssertEqual(try String(contentsOf: URL(fileURLWithPath: shot.folder).appendingPathComponent("inputs/shot.json"), encoding: .utf8), own)
        let bad = try XCTUnwrap(jobs.first { $0.name == "bad" })
        XCTAssertEqual(bad.state, .rejected)
        XCTAssertTrue(bad.error?.hasPrefix("image:") == true, bad.error ?? "")
        XCTAssertTrue(names(dir.appendingPathComponent("inbox/rejected")).isSuperset(of: ["bad.png", "bad.json"]))
    }

    func testAPromptFileQueuesOneJobPerLineAndABadLineRejectsTheWholeFile() throws {
        let dir = try workspace(extra: PresetFolderTests.presets)
        let inbox = dir.appendingPathComponent("inbox")
        for folder in ["pets", "pairs"] { try FileManager.default.createDirectory(at: inbox.appendingPathComponent(folder), withIntermediateDirectories: true) }
        try drop("cat\n\n  dog  \r\ncat\n", inbox.appendingPathComponent("pets/list.txt"))
        try drop("dog\na horse\n", inbox.appendingPathComponent("pets/typo.txt"))
        try drop("cat | dog\n", inbox.appendingPathComponent("pairs/one.txt"))
        try drop(try pngData(), inbox.appendingPathComponent("pets/stray.png"))
        XCTAssertEqual(try runOnce(dir), 0)
        let jobs = try store(dir).jobs()
        let list = jobs.filter { $0.name.hasPrefix("list-") }.sorted { $0.name < $1.name }
        XCTAssertEqual(list.map(\.name), ["list-1", "list-2", "list-3"], "three non-empty lines, three jobs")
        XCTAssertEqual(list.map { $0.request?.prompt }, ["cat", "dog", "cat"])
        XCTAssertEqual(list.map(\.state), [.done, .done, .done])
        XCTAssertEqual(list.map { $0.request?.count }, [2, 2, 2], "the preset's fields")
        XCTAssertEqual(Set(list.map(\.seed)).count, 3, "each line its own seed")
        let carrying = list.filter { FileManager.default.fileExists(atPath: URL(fileURLWithPath: $0.folder).appendingPathComponent("inputs/list.txt").path) }
        XCTAssertEqual(carrying.count, 1, "the prompt file moves into one job's inputs")
        let typo = try XCTUnwrap(jobs.first { $0.name == "typo" })
        XCTAssertEqual(typo.state, .rejected)
        XCTAssertTrue(typo.error?.contains("line 2") == true, typo.error ?? "")
        XCTAssertFalse(jobs.contains { $0.name.hasPrefix("typo-") }, "no line of a rejected file is queued")
        let pair = try XCTUnwrap(jobs.first { $0.name == "one-1" })
        XCTAssertEqual(pair.request?.prompts, ["cat", "dog"])
        XCTAssertEqual(pair.state, .done)
        let stray = try XCTUnwrap(jobs.first { $0.name == "stray" })
        XCTAssertTrue(stray.error?.contains("takes no image") == true, stray.error ?? "")
        XCTAssertTrue(names(inbox.appendingPathComponent("pets")).isEmpty)
    }

    func testWhatSyncClientsLeaveBehindIsNeverTakenAndConfigAddsPatterns() throws {
        let dir = try workspace(extra: PresetFolderTests.presets + #", "ignore": ["scan-*", "*.bak"]"#)
        let ladder = dir.appendingPathComponent("inbox/ladder")
        let left = [".photo.png.Xa3bC9", ".syncthing.photo.png.tmp", "~syncthing~photo.png.tmp", "._photo.png", "photo.png.part",
                    "photo.png.crdownload", "photo.tmp", "~$photo.png", "Thumbs.db", "desktop.ini", "scan-001.png", "old.png.bak",
                    "@eaDir/photo.png/SYNOPHOTO_THUMB_M.png", "#recycle/old.png", ".stversions/photo~1.png", ".stfolder/x.png"]
        for name in left {
            let url = ladder.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try pngData(seed: 3).write(to: url)
        }
        try drop(try pngData(seed: 4), ladder.appendingPathComponent("photo.png"))
        XCTAssertEqual(try runOnce(dir), 0)
        let jobs = try store(dir).jobs()
        XCTAssertEqual(jobs.map(\.name), ["photo"], jobs.map { "\($0.name): \($0.error ?? "")" }.joined(separator: "; "))
        for name in left { XCTAssertTrue(FileManager.default.fileExists(atPath: ladder.appendingPathComponent(name).path), "\(name) stays") }
    }

    func testABadPresetOrIgnorePatternStopsTheStartNamingIt() throws {
        let cases: [(String, String)] = [
            (#", "presets": {"ladder": {"mode": "sdedit", "strenght": 0.5}}"#, "presets.ladder.strenght"),
            (#", "presets": {"ladder": {"mode": "sdedit", "image": "x.png"}}"#, "presets.ladder.image"),
            (#", "presets": {"ladder": {"mode": "painting"}}"#, "presets.ladder.mode"),
            (#", "presets": {"ladder": {"mode": "sdedit", "prompt": "a horse"}}"#, "presets.ladder.prompt"),
            (#", "presets": {"ladder": {"mode": "sdedit", "noise_levels": [50]}}"#, "presets.ladder.noise_levels"),
            (#", "presets": {"rejected": {"mode": "generate"}}"#, "presets.rejected"),
            (#", "presets": {"p": {"mode": "generate", "model": "huge"}}"#, "presets.p.model"),
            (#", "ignore": ["ok-*", "[abc"]"#, "'[abc'"),
        ]
        for (extra, named) in cases {
            let dir = try workspace(extra: extra)
            let log = dir.appendingPathComponent("log")
            XCTAssertNotEqual(try runOnce(dir, log: log), 0, extra)
            let text = try String(contentsOf: log, encoding: .utf8)
            XCTAssertTrue(text.contains(named), "\(extra): the error names \(named): \(text)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("inbox/ladder").path), "nothing created")
        }
    }
}
