import Foundation
import XCTest
import DarkroomTestSupport
import DarkroomStore

/// One daemon per database, signals, kill -9 and lost databases (issue 11), against real `darkroom watch` processes.
final class DaemonLifecycleTests: DaemonTestCase {
    func lockHolder(_ dir: URL) -> String? {
        (try? String(contentsOf: dir.appendingPathComponent("darkroom.sqlite.lock"), encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testASecondDaemonOnTheSameDatabaseExitsNamingTheFirstAndTheJobRunsOnce() throws {
        let dir = try workspace(stride: 1)
        try drop(#"{"prompt": "a cat", "count": 2, "stride": 2, "seed": 3}"#, dir.appendingPathComponent("inbox/slow.json"))
        let first = try start(dir)
        try waitFor(30, "the job to start") { try store(dir).jobs(state: .running).count == 1 }
        let (status, output) = try command(["watch", "--config", dir.appendingPathComponent("config.json").path])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("pid \(first.processIdentifier)"), output)
        let (once, _) = try command(["watch", "--once", "--config", dir.appendingPathComponent("config.json").path])
        XCTAssertNotEqual(once, 0, "--once takes the lock too")
        try waitFor(120, "the job to finish") { try store(dir).jobs().first?.state == .done }
        XCTAssertEqual(try store(dir).jobs().first?.attempts, 1, "run exactly once")
        XCTAssertTrue(first.isRunning)
    }

    func testTwoDaemonsStartedTogetherOnANewDatabase() throws {
        let dir = try workspace()
        let logs = [dir.appendingPathComponent("a.log"), dir.appendingPathComponent("b.log")]
        let daemons = try logs.map { try start(dir, log: $0) }
        try waitFor(20, "one daemon to give way") { daemons.filter(\.isRunning).count == 1 }
        let loser = try XCTUnwrap(daemons.firstIndex { !$0.isRunning })
        let winner = daemons[1 - loser]
        XCTAssertNotEqual(daemons[loser].terminationStatus, 0)
        let message = try String(contentsOf: logs[loser], encoding: .utf8)
        XCTAssertTrue(message.contains("already running") && message.contains("pid \(winner.processIdentifier)"), message)
        XCTAssertFalse(message.contains("database is locked"), message)
        try drop(#"{"prompt": "a dog", "seed": 1}"#, dir.appendingPathComponent("inbox/one.json"))
        try waitFor(60, "the job") { try store(dir).counts()[.done] == 1 }
        XCTAssertEqual(try store(dir).counts()[.rejected] ?? 0, 0)
    }

    func testHangupAndUserSignalsAreLoggedAndTheJobIsNotDisturbed() throws {
        let dir = try workspace(stride: 1)
        let log = dir.appendingPathComponent("daemon.log")
        try drop(#"{"prompt": "a cat", "count": 2, "stride": 2, "seed": 3}"#, dir.appendingPathComponent("inbox/slow.json"))
        let daemon = try start(dir, log: log)
        try waitFor(30, "the job to start") { try store(dir).jobs(state: .running).count == 1 }
        for signal in [SIGHUP, SIGHUP, SIGHUP, SIGUSR1, SIGUSR2] {
            kill(daemon.processIdentifier, signal)
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTAssertTrue(daemon.isRunning)
        try waitFor(120, "the job to finish") { try store(dir).jobs().first?.state == .done }
        let job = try XCTUnwrap(try store(dir).jobs().first)
        XCTAssertEqual(job.attempts, 1)
        daemon.terminate()
        daemon.waitForExit()
        XCTAssertEqual(daemon.terminationStatus, 0)
        XCTAssertTrue(try String(contentsOf: log, encoding: .utf8).contains("SIGHUP received and ignored"))
    }

    func testAStartRepairsWhatAKillLeft() throws {
        let dir = try workspace(stride: 150)
        let inbox = dir.appendingPathComponent("inbox"), gallery = dir.appendingPathComponent("gallery")
        try drop(#"{"prompt": "a cat", "seed": 1}"#, inbox.appendingPathComponent("one.json"))
        try drop(#"{"prompt": "a dog", "seed": 2}"#, inbox.appendingPathComponent("two.json"))
        XCTAssertEqual(try runOnce(dir), 0)
        let jobs = try store(dir).jobs()
        XCTAssertEqual(jobs.count, 2)
        // A kill between the commit and the page, and temporaries of a killed write.
        let page1 = URL(fileURLWithPath: jobs[0].folder).appendingPathComponent("index.html")
        let page2 = URL(fileURLWithPath: jobs[1].folder).appendingPathComponent("index.html")
        try FileManager.default.removeItem(at: page1)
        try Data("stale: written before the job ended".utf8).write(to: page2)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1e9)], ofItemAtPath: page2.path)
        for junk in [".index.html.999.tmp", "jobs/1/.result.png.999.tmp"] { try Data("x".utf8).write(to: gallery.appendingPathComponent(junk)) }
        try Data("x".utf8).write(to: inbox.appendingPathComponent("rejected/.a.error.json.9.tmp"))
        try Data("mine".utf8).write(to: inbox.appendingPathComponent(".mine.tmp"))
        // An intake the kill interrupted: a job folder with its manifest and half of the files moved, no row.
        let interrupted = gallery.appendingPathComponent("jobs/7/inputs")
        try FileManager.default.createDirectory(at: interrupted, withIntermediateDirectories: true)
        let png = try pngData(seed: 9)
        try png.write(to: interrupted.appendingPathComponent("r.png"))
        try drop(#"{"mode": "noise", "t": [10], "seed": 4}"#, inbox.appendingPathComponent("r.json"))
        let manifest = #"{"input_hash": "0", "files": [{"from": "r.png", "to": "r.png"}, {"from": "r.json", "to": "r.json"}]}"#
        try Data(manifest.utf8).write(to: gallery.appendingPathComponent("jobs/7/.intake.json"))

        XCTAssertEqual(try runOnce(dir), 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: page1.path), "the missing page is written")
        XCTAssertTrue(try String(contentsOf: page2, encoding: .utf8).contains("<html"), "the stale page is rewritten")
        XCTAssertFalse(names(gallery).contains(".index.html.999.tmp"))
        XCTAssertFalse(names(gallery.appendingPathComponent("jobs/1")).contains(".result.png.999.tmp"))
        XCTAssertFalse(names(inbox.appendingPathComponent("rejected")).contains(".a.error.json.9.tmp"))
        XCTAssertEqual(try Data(contentsOf: inbox.appendingPathComponent(".mine.tmp")), Data("mine".utf8), "the user's dotfile stays")
        XCTAssertFalse(names(gallery.appendingPathComponent("jobs")).contains("7"), "the interrupted intake is rolled back")
        let r = try XCTUnwrap(try store(dir).jobs().first { $0.name == "r" })
        XCTAssertEqual(r.state, .done, "and its drop is taken again")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: r.folder).appendingPathComponent("inputs/r.png")), png)
    }

    func testKilledAgainAndAgainEveryDropEndsAsOneDoneJobWithItsPage() throws {
        let dir = try workspace(stride: 150)
        let inbox = dir.appendingPathComponent("inbox"), gallery = dir.appendingPathComponent("gallery")
        var rng = SystemRandomNumberGenerator()
        var dropped = 0
        for round in 0..<8 {
            let daemon = try start(dir)
            Thread.sleep(forTimeInterval: 0.2)
            for k in 0..<3 {
                try drop(#"{"prompt": "a cat", "seed": \#(round * 10 + k)}"#, inbox.appendingPathComponent("r\(round)-\(k).json"))
                dropped += 1
            }
            Thread.sleep(forTimeInterval: Double.random(in: 0...0.4, using: &rng))
            kill(daemon.processIdentifier, SIGKILL)
            daemon.waitForExit()
        }
        let daemon = try start(dir)
        try waitFor(120, "every job done") { try store(dir).counts()[.done] == dropped }
        Thread.sleep(forTimeInterval: 1.5)  // the index follows within a second of the last job
        daemon.terminate()
        daemon.waitForExit()
        let jobs = try store(dir).jobs()
        XCTAssertEqual(jobs.count, dropped, "each drop once")
        let index = try String(contentsOf: gallery.appendingPathComponent("index.html"), encoding: .utf8)
        for job in jobs {
            XCTAssertTrue(FileManager.default.fileExists(atPath: job.folder + "/index.html"), "job \(job.id!) has its page")
            XCTAssertTrue(index.contains("jobs/\(job.id!)/index.html"), "the index lists job \(job.id!)")
            XCTAssertEqual(names(URL(fileURLWithPath: job.folder).appendingPathComponent("inputs")), ["\(job.name).json"])
        }
        let leftovers = FileManager.default.enumerator(atPath: gallery.path)!.compactMap { $0 as? String }.filter { $0.hasSuffix(".tmp") || $0.hasSuffix(".intake.json") }
        XCTAssertEqual(leftovers, [])
        XCTAssertEqual(names(inbox), ["rejected", "duplicates"])
    }

    func testADeletedDatabaseStopsTheDaemonAndTheGalleryRefusesANewOne() throws {
        let dir = try workspace(stride: 150)
        try drop(#"{"prompt": "a cat", "seed": 1}"#, dir.appendingPathComponent("inbox/one.json"))
        let log = dir.appendingPathComponent("daemon.log")
        let daemon = try start(dir, log: log)
        try waitFor(60, "the job") { try store(dir).counts()[.done] == 1 }
        let database = dir.appendingPathComponent("darkroom.sqlite")
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database.path + suffix) }
        try waitFor(10, "the daemon to stop") { !daemon.isRunning }
        XCTAssertNotEqual(daemon.terminationStatus, 0)
        XCTAssertTrue(try String(contentsOf: log, encoding: .utf8).contains("was deleted"))
        let (status, output) = try command(["watch", "--once", "--config", dir.appendingPathComponent("config.json").path])
        XCTAssertNotEqual(status, 0, "a new database may not take over the old gallery")
        XCTAssertTrue(output.contains("gallery:") && output.contains("another database"), output)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("gallery/jobs/1/inputs/one.json").path), "job 1's files are untouched")
    }

    func testAGalleryOnAnotherFileSystemReceivesExactCopies() throws {
        let shm = URL(fileURLWithPath: "/dev/shm")
        var a = stat(), b = stat()
        let dir = try workspace(stride: 150, extra: "")
        let gallery = shm.appendingPathComponent("darkroom-test-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: gallery) }
        try #"{"models": {"tiny": "models/tiny"}, "defaults": {"stride": 150}, "threads": 1, "gallery": "\#(gallery.path)"}"#
            .write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        XCTAssertEqual(stat(shm.path, &a), 0, "/dev/shm is the second file system of this test")
        XCTAssertEqual(stat(dir.path, &b), 0)
        XCTAssertNotEqual(a.st_dev, b.st_dev, "/dev/shm must be another file system than \(dir.path)")
        let png = try pngData()
        try drop(png, dir.appendingPathComponent("inbox/x.png"))
        try drop(#"{"mode": "noise", "t": [10]}"#, dir.appendingPathComponent("inbox/x.json"))
        XCTAssertEqual(try runOnce(dir), 0)
        let job = try XCTUnwrap(try store(dir).jobs().first)
        XCTAssertEqual(job.state, .done, job.error ?? "")
        XCTAssertEqual(try Data(contentsOf: gallery.appendingPathComponent("jobs/1/inputs/x.png")), png)
        XCTAssertEqual(names(dir.appendingPathComponent("inbox")), ["rejected", "duplicates"], "originals removed after the copy")
        XCTAssertEqual(try store(dir).counts()[.rejected] ?? 0, 0)
    }

    func testLogLinesCarryJournaldPrioritiesAndLogLevelFilters() throws {
        let dir = try workspace(stride: 150)
        try drop(#"{"prompt": "a cat", "seed": 1}"#, dir.appendingPathComponent("inbox/good.json"))
        try drop(#"{"colour": "red"}"#, dir.appendingPathComponent("inbox/bad.json"))
        let log = dir.appendingPathComponent("all.log")
        let all = try start(dir, log: log, arguments: ["watch", "--once", "--config", dir.appendingPathComponent("config.json").path])
        all.waitForExit()
        let lines = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
        XCTAssertTrue(lines.contains { $0.hasPrefix("<6>queued job ") && $0.contains("'good'") }, lines.joined(separator: "\n"))
        XCTAssertTrue(lines.contains { $0.hasPrefix("<4>rejected 'bad.json'") }, lines.joined(separator: "\n"))
        XCTAssertTrue(lines.allSatisfy { $0.range(of: #"^<[2-7]>"#, options: .regularExpression) != nil }, "every line has a priority")
        try drop(#"{"colour": "blue"}"#, dir.appendingPathComponent("inbox/worse.json"))
        let quiet = dir.appendingPathComponent("quiet.log")
        let p = try start(dir, log: quiet, arguments: ["watch", "--once", "--log-level", "warning", "--config", dir.appendingPathComponent("config.json").path])
        p.waitForExit()
        let text = try String(contentsOf: quiet, encoding: .utf8)
        XCTAssertTrue(text.contains("<4>rejected 'worse.json'"), text)
        XCTAssertFalse(text.contains("<6>"), "info lines are below --log-level warning")
        let (status, output) = try command(["watch", "--once", "--log-level", "loud", "--config", dir.appendingPathComponent("config.json").path])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("--log-level"), output)
    }

    func testRootCommandsOnTheServicesDatabaseLeaveNoRootOwnedFiles() throws {
        try XCTSkipIf(geteuid() != 0, "needs root, as an administrator running darkroom status beside the service")
        let dir = try workspace(stride: 150)
        try drop(#"{"prompt": "a cat", "seed": 1}"#, dir.appendingPathComponent("inbox/one.json"))
        XCTAssertEqual(try runOnce(dir), 0)
        // Hand the workspace to another user, as the package does for the service's database.
        let nobody: uid_t = 65_534
        let e = FileManager.default.enumerator(atPath: dir.path)!
        while let relative = e.nextObject() as? String {
            guard relative.hasPrefix("darkroom.sqlite") || relative.hasPrefix("inbox") || relative.hasPrefix("gallery") else { continue }
            XCTAssertEqual(lchown(dir.appendingPathComponent(relative).path, nobody, gid_t(nobody)), 0, relative)
        }
        XCTAssertEqual(chmod(dir.path, 0o777), 0)
        for arguments in [["status"], ["pause"], ["resume"], ["gallery", "--rebuild"]] {
            let (status, output) = try command(arguments + ["--config", dir.appendingPathComponent("config.json").path])
            XCTAssertEqual(status, 0, output)
        }
        // The index is rewritten on every rebuild (it carries the time): its owner is whoever wrote it.
        for file in names(dir).filter({ $0.hasPrefix("darkroom.sqlite") }) + ["gallery/index.html", "gallery/jobs.json"] {
            var s = stat()
            XCTAssertEqual(lstat(dir.appendingPathComponent(file).path, &s), 0, file)
            XCTAssertEqual(s.st_uid, nobody, "\(file) belongs to the database's owner, not root")
        }
    }

    func testStartupErrorsNameTheSettingAndWhatToDo() throws {
        let dir = try workspace()
        let config = dir.appendingPathComponent("config.json")
        try #"{"models": {"tiny": "models/tiny"}, "database": "missing/folder/db.sqlite"}"#.write(to: config, atomically: true, encoding: .utf8)
        let (status, output) = try command(["watch", "--once", "--config", config.path])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("database:") && output.contains("missing/folder"), output)
        try #"{"models": {"tiny": "models/tiny"}, "inbox": "in", "gallery": "out"}"#.write(to: config, atomically: true, encoding: .utf8)
        try Data("x".utf8).write(to: dir.appendingPathComponent("in"))
        let (s2, o2) = try command(["status", "--config", config.path])
        XCTAssertNotEqual(s2, 0)
        XCTAssertTrue(o2.contains("inbox:") && o2.contains("is a file, not a folder"), o2)
    }
}
