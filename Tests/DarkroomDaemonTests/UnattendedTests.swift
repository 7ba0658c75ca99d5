import Foundation
import XCTest
import DarkroomDaemon
import DarkroomStore
import DarkroomTestSupport
import DarkroomJobModel

/// A daemon left alone: long jobs under systemd's watchdog, a job whose step hangs, a time limit, two daemons on one
/// host, a link planted where a scratch folder could go. Real processes, with the watchdog played by the test.
final class UnattendedTests: DaemonTestCase {
    let stall = 2.0
    /// Each sampler step sleeps this long (a test hook), so a small job runs for many times `stall`.
    let stepSeconds = "0.1"
    let longJob = #"{"prompt": "a cat", "stride": 4, "seed": 3}"#

    func unattendedWorkspace(extra: String = "") throws -> URL {
        try workspace(extra: #", "job_stall_seconds": \#(stall), "lease_seconds": 3, "lease_renew_seconds": 0.5, "poll_seconds": 0.2\#(extra)"#)
    }

    /// The processes that run jobs: `darkroom watch`, or an intake (`watch --no-worker`) and a `darkroom worker`; the
    /// one running the job gets `environment`. Returns the job runner's process.
    func startRunner(_ dir: URL, worker: Bool, environment: [String: String], log: URL) throws -> Process {
        let config = dir.appendingPathComponent("config.json").path
        guard worker else { return try start(dir, log: log, environment: environment) }
        return try start(dir, log: log, arguments: ["worker", "--config", config], environment: environment)
    }

    func testALongJobFeedsTheWatchdogThroughoutAndAStalledOneIsRequeuedByTheNextProcess() throws {
        for worker in [false, true] {
            let who = worker ? "darkroom worker" : "darkroom watch"
            let dir = try unattendedWorkspace()
            let notify = try NotifySocket(in: dir)
            let log = dir.appendingPathComponent("runner.log")
            if worker { _ = try start(dir, arguments: ["watch", "--no-worker", "--config", dir.appendingPathComponent("config.json").path]) }
            let hooks = ["DARKROOM_TEST_STEP_SECONDS": stepSeconds]
            var runner = try startRunner(dir, worker: worker, environment: notify.environment(watchdog: 1).merging(hooks) { $1 }, log: log)

            // A job that steps for several times job_stall_seconds: the watchdog is fed throughout and it ends done.
            try drop(longJob, dir.appendingPathComponent("inbox/long.json"))
            try waitFor(60, "\(who): the long job to start") { try store(dir).jobs(state: .running).count == 1 }
            let started = NotifySocket.now()
            try waitFor(120, "\(who): the long job to finish") { try store(dir).jobs().first?.state == .done }
            let ended = NotifySocket.now()
            XCTAssertGreaterThan(ended - started, 3 * stall, "\(who): the job ran for several times job_stall_seconds")
            XCTAssertLessThan(notify.longestWatchdogGap(from: started, to: ended), 0.9, "\(who): the watchdog (1 s) was fed throughout")
            XCTAssertEqual(try store(dir).jobs().first?.attempts, 1, who)
            runner.terminate()
            runner.waitForExit()

            // A job whose third step never returns: the feeding stops within job_stall_seconds, the process lives on.
            let hang = hooks.merging(["DARKROOM_TEST_HANG_AT_STEP": "3"]) { $1 }
            runner = try startRunner(dir, worker: worker, environment: notify.environment(watchdog: 1).merging(hang) { $1 }, log: log)
            try drop(#"{"prompt": "a dog", "stride": 4, "seed": 4}"#, dir.appendingPathComponent("inbox/hangs.json"))
            try waitFor(60, "\(who): the hanging job to start") { try store(dir).jobs(state: .running).count == 1 }
            let hangStarted = NotifySocket.now()
            try waitFor(stall + 10, "\(who): the watchdog to fall silent") {
                guard let last = notify.watchdogTimes.last else { return false }
                return NotifySocket.now() - last > 1.5 && last > hangStarted
            }
            let silentFrom = try XCTUnwrap(notify.watchdogTimes.last)
            XCTAssertLessThan(silentFrom - hangStarted, stall + 3 * 0.1 + 1, "\(who): silent within job_stall_seconds of the last step")
            XCTAssertTrue(runner.isRunning, "\(who): the process itself is alive; only its job is stalled")
            let text = try String(contentsOf: log, encoding: .utf8)
            XCTAssertTrue(text.contains("stalled: no progress for") && text.contains("step 3/"), "\(who): the log says where: \(text)")
            // systemd kills it (WatchdogSignal); the next process ends the job: queued again, and done.
            kill(runner.processIdentifier, SIGKILL)
            runner.waitForExit()
            runner = try startRunner(dir, worker: worker, environment: hooks, log: dir.appendingPathComponent("next.log"))
            try waitFor(120, "\(who): the stalled job to be requeued and done") { try store(dir).jobs().allSatisfy { $0.state == .done } }
            let stalled = try XCTUnwrap(try store(dir).jobs().first { $0.name == "hangs" })
            XCTAssertEqual(stalled.attempts, 2, "\(who): the stalled attempt counts")
            runner.terminate()
            runner.waitForExit()
        }
    }

    func testANotifySocketNobodyReadsNeverBlocksTheDaemon() throws {
        // A datagram socket whose queue fills (systemd busy or stopped, a reader gone): sending must not wait.
        let dir = try temporaryFolder(self)
        let path = dir.appendingPathComponent("full.sock").path
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        XCTAssertEqual(withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }, 0)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": path])
        // On a thread, so that a send that blocks fails the test instead of hanging it.
        let finished = DispatchSemaphore(value: 0)
        let counted = Collected<Int>()
        Thread {
            counted.append((0..<2_000).filter { notifier.send("STATUS=step \($0)") }.count)
            finished.signal()
        }.start()
        XCTAssertEqual(finished.wait(timeout: .now() + 5), .success, "a send waited for the reader")
        let sent = counted.items.first ?? 0
        XCTAssertGreaterThan(sent, 0, "the first messages were queued")
        XCTAssertLessThan(sent, 2_000, "the queue filled, and the rest were dropped instead of waited for")
    }

    func testAJobLongerThanItsTimeLimitFailsNamingIt() throws {
        let dir = try unattendedWorkspace(extra: #", "job_timeout_seconds": 2"#)
        try drop(longJob, dir.appendingPathComponent("inbox/long.json"))
        let daemon = try start(dir, environment: ["DARKROOM_TEST_STEP_SECONDS": stepSeconds])
        try waitFor(60, "the job to fail") { try store(dir).jobs().first?.state == .failed }
        let job = try XCTUnwrap(try store(dir).jobs().first)
        XCTAssertTrue(job.error?.contains("job_timeout_seconds (2 s)") == true, job.error ?? "no error")
        XCTAssertLessThan(try XCTUnwrap(job.duration), 10, "stopped at a step soon after the limit")
        daemon.terminate()
        daemon.waitForExit()
    }

    func testTwoDaemonsOnOneHostWithSeparateDatabasesEachRunTheirJobOne() throws {
        // A link planted where the old, predictable scratch folder was, and one where a new one could go.
        let planted = try temporaryFolder(self)
        let tmp = NSTemporaryDirectory()
        let links = ["darkroom-worker-\(WorkerIdentity.host.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }.map(String.init).joined())_watch",
                     "darkroom-scratch-guess"].map { (tmp as NSString).appendingPathComponent($0) }
        for link in links {
            try? FileManager.default.removeItem(atPath: link)  // an older Darkroom's folder, or an earlier run's link
            XCTAssertEqual(symlink(planted.path, link), 0, link)
        }
        defer { for link in links { unlink(link) } }
        let dirs = try [unattendedWorkspace(), unattendedWorkspace()]
        for dir in dirs { try drop(longJob, dir.appendingPathComponent("inbox/same.json")) }
        let daemons = try dirs.map { try start($0, log: $0.appendingPathComponent("watch.log"), environment: ["DARKROOM_TEST_STEP_SECONDS": "0.05"]) }
        for dir in dirs {
            try waitFor(120, "job 1 of \(dir.lastPathComponent) done") { try store(dir).job(1)?.state == .done }
        }
        for dir in dirs {
            let job = try XCTUnwrap(try store(dir).job(1))
            XCTAssertEqual(job.attempts, 1)
            XCTAssertNil(job.error)
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("gallery/jobs/1/result.png").path))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: planted.path), [], "nothing was written through a planted link")
        // Each daemon's scratch folder is its own: private to its user, and holding the marker that names its process.
        let mine = try FileManager.default.contentsOfDirectory(atPath: tmp).filter { $0.hasPrefix("darkroom-scratch-") && !$0.hasSuffix("guess") }
        var live = 0
        for name in mine {
            let path = (tmp as NSString).appendingPathComponent(name)
            guard let marker = try? String(contentsOfFile: path + "/.darkroom-scratch", encoding: .utf8) else { continue }
            if daemons.map({ "\($0.processIdentifier) " }).contains(where: { marker.hasPrefix($0) }) {
                live += 1
                let mode = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
                XCTAssertEqual(mode & 0o777, 0o700, name)
            }
        }
        XCTAssertEqual(live, 2, "one scratch folder per daemon: \(mine)")
        for d in daemons { d.terminate(); d.waitForExit() }
        for link in links {
            XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), planted.path, "a planted link is left as it was")
        }
    }

    func testAFullGalleryDiskReturnsTheJobToTheQueueAndItEndsDoneOnceThereIsRoom() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root, to mount a small tmpfs as the gallery's disk") }
        let dir = try unattendedWorkspace()
        let gallery = dir.appendingPathComponent("gallery")
        try FileManager.default.createDirectory(at: gallery, withIntermediateDirectories: true)
        guard NetworkNamespace.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", gallery.path]).0 == 0 else {
            throw XCTSkip("this machine refuses a tmpfs mount")
        }
        defer { _ = NetworkNamespace.run(["umount", "-l", gallery.path]) }
        let log = dir.appendingPathComponent("watch.log")
        let daemon = try start(dir, log: log, environment: ["DARKROOM_TEST_STEP_SECONDS": "0.05"])
        try drop(longJob, dir.appendingPathComponent("inbox/full.json"))
        try waitFor(60, "the job to run") { try store(dir).jobs(state: .running).count == 1 }
        // The gallery's disk fills up while the job runs: its results cannot be written.
        let filler = gallery.appendingPathComponent("filler")
        _ = FileManager.default.createFile(atPath: filler.path, contents: nil)
        let handle = try FileHandle(forWritingTo: filler)
        let block = Data(count: 64 * 1024)
        while (try? handle.write(contentsOf: block)) != nil {}
        try? handle.close()
        try waitFor(60, "the worker to say the error is not the job's") {
            try String(contentsOf: log, encoding: .utf8).contains("not the job's fault; returned to the queue")
        }
        let meanwhile = try XCTUnwrap(try store(dir).job(1))
        XCTAssertTrue([.queued, .running].contains(meanwhile.state), "never failed for a full disk: \(meanwhile.state) \(meanwhile.error ?? "")")
        XCTAssertEqual(names(dir.appendingPathComponent("inbox/rejected")), [], "nothing rejected")
        try FileManager.default.removeItem(at: filler)
        try waitFor(120, "the job to end done once there is room") { try store(dir).job(1)?.state == .done }
        XCTAssertEqual(try store(dir).job(1)?.attempts, 1, "the attempts a full disk interrupted are not counted")
        XCTAssertTrue(FileManager.default.fileExists(atPath: gallery.appendingPathComponent("jobs/1/result.png").path))
        daemon.terminate()
        daemon.waitForExit()
    }
}
