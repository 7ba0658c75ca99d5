import Foundation
import XCTest
import DarkroomImaging
import DarkroomStore
import DarkroomJobModel
import DarkroomTensor
import DarkroomTestSupport

/// Real clients dropping into a preset folder and into the inbox while `darkroom watch` runs: rsync, cp, a move from
/// another file system, tar fed slowly, a writer that pauses between chunks, an editor saving twice, a hard link.
/// Each drop gives exactly one job, with the bytes the client wrote last.
final class ClientDropTests: DaemonTestCase {
    static let preset = #", "presets": {"ladder": {"mode": "sdedit", "prompt": "cat", "strength": 0.5}}"#

    /// A random RGB PNG of `side`² pixels (about 3·side² bytes: it does not compress).
    func bigPNG(side: Int, seed: UInt64) throws -> Data {
        var rng = RandomSource(seed: seed)
        return try PNGWriter.encode(rng.uniform([1, 3, side, side]))
    }

    /// Runs a Python snippet in the background (it writes the way a slow client does); the test waits for it.
    func python(_ script: String, _ arguments: [String]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = ["-c", script] + arguments
        try p.run()
        addTeardownBlock { if p.isRunning { p.terminate(); p.waitForExit() } }
        return p
    }

    /// Writes argv[2] into argv[1] in four chunks with 0.7 s pauses (longer than the settle time).
    static let chunkedWriter = """
        import sys, time
        data = open(sys.argv[2], 'rb').read()
        with open(sys.argv[1], 'wb') as f:
            for k in range(4):
                f.write(data[k * len(data) // 4:(k + 1) * len(data) // 4]); f.flush(); time.sleep(0.7)
        """

    /// Feeds the tar file argv[1] to `tar -x -C argv[2]` in four chunks with 0.7 s pauses.
    static let slowTar = """
        import subprocess, sys, time
        data = open(sys.argv[1], 'rb').read()
        p = subprocess.Popen(['tar', '-x', '-C', sys.argv[2]], stdin=subprocess.PIPE)
        for k in range(4):
            p.stdin.write(data[k * len(data) // 4:(k + 1) * len(data) // 4]); p.stdin.flush(); time.sleep(0.7)
        p.stdin.close(); sys.exit(p.wait())
        """

    func testRsyncCpCrossFileSystemMoveTarAndAChunkedWriterEachGiveOneJobWithTheFinalBytes() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/rsync") else {
            throw XCTSkip("needs Debian's rsync (scripts/setup.sh installs it)")
        }
        let dir = try workspace(imageWait: 10, extra: ClientDropTests.preset)
        let ladder = dir.appendingPathComponent("inbox/ladder")
        let source = dir.appendingPathComponent("source")
        try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
        var bytes: [String: Data] = [:]
        for (k, name) in ["rsynced", "copied", "moved", "untarred", "chunked"].enumerated() {
            bytes[name] = try bigPNG(side: k == 1 ? 700 : 200, seed: UInt64(k + 1))
            try bytes[name]!.write(to: source.appendingPathComponent(name + ".png"))
        }
        let p = try start(dir)
        try waitFor(20, "inbox/ladder/") { FileManager.default.fileExists(atPath: ladder.path) }
        var clients: [Process] = []
        // rsync writes .rsynced.png.XXXXXX at 40 kB/s (about 3 s) and renames it into place.
        clients.append(try Process.run(URL(fileURLWithPath: "/usr/bin/rsync"), arguments: ["--bwlimit=40", source.appendingPathComponent("rsynced.png").path, ladder.path + "/"]))
        clients.append(try Process.run(URL(fileURLWithPath: "/bin/cp"), arguments: [source.appendingPathComponent("copied.png").path, ladder.path + "/"]))
        // From another file system (tmpfs): mv copies under the final name, then removes the original.
        let shm = URL(fileURLWithPath: "/dev/shm/darkroom-test-\(UUID().uuidString).png")
        try bytes["moved"]!.write(to: shm)
        addTeardownBlock { try? FileManager.default.removeItem(at: shm) }
        clients.append(try Process.run(URL(fileURLWithPath: "/bin/mv"), arguments: [shm.path, ladder.appendingPathComponent("moved.png").path]))
        let tarball = dir.appendingPathComponent("drop.tar")
        let tar = try Process.run(URL(fileURLWithPath: "/usr/bin/tar"), arguments: ["-c", "-f", tarball.path, "-C", source.path, "untarred.png"])
        tar.waitForExit()
        clients.append(try python(ClientDropTests.slowTar, [tarball.path, ladder.path]))
        clients.append(try python(ClientDropTests.chunkedWriter, [ladder.appendingPathComponent("chunked.png").path, source.appendingPathComponent("chunked.png").path]))
        for c in clients {
            c.waitForExit(within: 60)
            XCTAssertEqual(c.terminationStatus, 0, "\(c.executableURL!.lastPathComponent) succeeded")
        }
        try waitFor(60, "five jobs done") { try store(dir).jobs().filter { $0.state == .done }.count == 5 }
        Thread.sleep(forTimeInterval: 1.5)  // nothing more comes of the drops
        let jobs = try store(dir).jobs()
        XCTAssertEqual(jobs.count, 5, jobs.map { "\($0.name) \($0.state.rawValue) \($0.error ?? "")" }.joined(separator: "; "))
        for job in jobs {
            let expected = try XCTUnwrap(bytes[job.name], "job \(job.name) is one of the drops")
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: job.folder).appendingPathComponent("inputs/\(job.name).png")), expected,
                           "\(job.name): the final bytes")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("inbox/rejected").path + "/copied.png"))
        XCTAssertTrue(names(ladder).isEmpty, "\(names(ladder))")
        p.terminate()
        p.waitForExit()
    }

    func testASlowWriterAfterItsSidecarAnEditorSavingTwiceAndAHardLinkEachGiveOneFaithfulJob() throws {
        let dir = try workspace(imageWait: 10, extra: ClientDropTests.preset)
        let inbox = dir.appendingPathComponent("inbox")
        let outside = dir.appendingPathComponent("outside")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        let slow = try bigPNG(side: 200, seed: 9)
        try slow.write(to: outside.appendingPathComponent("slow-source.png"))
        let linked = try pngData(seed: 10)
        try linked.write(to: outside.appendingPathComponent("linked.png"))
        let p = try start(dir)
        try waitFor(20, "inbox/ladder/") { FileManager.default.fileExists(atPath: inbox.appendingPathComponent("ladder").path) }
        // The sidecar first, then the image written in chunks 0.7 s apart: waited for, never rejected as truncated.
        try drop(#"{"mode": "sdedit", "prompt": "dog", "strength": 0.5}"#, inbox.appendingPathComponent("slow.json"))
        let writer = try python(ClientDropTests.chunkedWriter, [inbox.appendingPathComponent("slow.png").path, outside.appendingPathComponent("slow-source.png").path])
        // An editor that saves twice, 0.2 s apart, in place: one job, of the second save.
        let twice = inbox.appendingPathComponent("twice.json")
        try Data(#"{"prompt": "cat", "seed": 1}"#.utf8).write(to: twice)
        Thread.sleep(forTimeInterval: 0.2)
        let handle = try FileHandle(forWritingTo: twice)
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: Data(#"{"prompt": "dog", "seed": 2}"#.utf8))
        try handle.close()
        // A hard link from outside the inbox: the job gets a copy, which rewriting the outside file does not change.
        XCTAssertEqual(link(outside.appendingPathComponent("linked.png").path, inbox.appendingPathComponent("ladder/linked.png").path), 0)
        writer.waitForExit(within: 30)
        try waitFor(60, "three jobs done") { try store(dir).jobs().filter { $0.state == .done }.count == 3 }
        Thread.sleep(forTimeInterval: 1.5)
        let jobs = try store(dir).jobs()
        XCTAssertEqual(Set(jobs.map(\.name)), ["slow", "twice", "linked"], jobs.map { "\($0.name) \($0.state.rawValue) \($0.error ?? "")" }.joined(separator: "; "))
        let slowJob = try XCTUnwrap(jobs.first { $0.name == "slow" })
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: slowJob.folder).appendingPathComponent("inputs/slow.png")), slow)
        let twiceJob = try XCTUnwrap(jobs.first { $0.name == "twice" })
        XCTAssertEqual(twiceJob.seed, 2, "the last save")
        let linkedJob = try XCTUnwrap(jobs.first { $0.name == "linked" })
        let input = URL(fileURLWithPath: linkedJob.folder).appendingPathComponent("inputs/linked.png")
        var a = stat(), b = stat()
        XCTAssertEqual(stat(input.path, &a), 0)
        XCTAssertEqual(stat(outside.appendingPathComponent("linked.png").path, &b), 0, "the outside file stays")
        XCTAssertNotEqual(a.st_ino, b.st_ino, "the job's input is a copy, not the outside file's inode")
        try Data("rewritten".utf8).write(to: outside.appendingPathComponent("linked.png"))
        XCTAssertEqual(try Data(contentsOf: input), linked, "rewriting the outside file leaves the job's input alone")
        XCTAssertFalse(FileManager.default.fileExists(atPath: inbox.appendingPathComponent("rejected").path + "/slow.png"))
        p.terminate()
        p.waitForExit()
    }

    func testStatusEscapesControlCharactersAndAPromptFileDroppedAgainIsADuplicate() throws {
        let dir = try workspace(extra: #", "presets": {"pets": {"mode": "generate"}, "ladder": {"mode": "sdedit", "strength": 0.5, "prompt": "cat"}}"#)
        let inbox = dir.appendingPathComponent("inbox")
        try FileManager.default.createDirectory(at: inbox.appendingPathComponent("pets"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: inbox.appendingPathComponent("ladder"), withIntermediateDirectories: true)
        try drop("cat\ndog\n", inbox.appendingPathComponent("pets/list.txt"))
        try drop(try pngData(), inbox.appendingPathComponent("ladder/\u{1B}[31mred.png"))
        XCTAssertEqual(try runOnce(dir), 0)
        try drop("cat\ndog\n", inbox.appendingPathComponent("pets/again.txt"))
        XCTAssertEqual(try runOnce(dir), 0)
        let jobs = try store(dir).jobs()
        XCTAssertEqual(jobs.filter { $0.name.hasPrefix("list-") }.count, 2)
        XCTAssertFalse(jobs.contains { $0.name.hasPrefix("again") }, "the same prompt file again queues nothing")
        XCTAssertTrue(names(inbox.appendingPathComponent("duplicates")).contains("again.txt"))
        XCTAssertTrue(jobs.contains { $0.name == "\u{1B}[31mred" && $0.state == .done })
        let (status, table) = try command(["status", "--config", dir.appendingPathComponent("config.json").path])
        XCTAssertEqual(status, 0)
        XCTAssertFalse(table.contains("\u{1B}"), "no escape sequence reaches the terminal")
        XCTAssertTrue(table.contains("\\u001b[31mred"), table)
    }
}
