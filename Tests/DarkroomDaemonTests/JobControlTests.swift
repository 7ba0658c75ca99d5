import Foundation
import XCTest
import DarkroomTestSupport
import DarkroomStore
import DarkroomJobModel

/// Following and controlling jobs (issue 15): progress in status, pages and systemd; cancel, pause, priority.
final class JobControlTests: DaemonTestCase {
    /// A job slow enough to watch: 150 strided steps of two samples on the tiny model.
    let slowJob = #"{"prompt": "a cat", "count": 64, "stride": 2, "seed": 3}"#

    func config(_ dir: URL) -> String { dir.appendingPathComponent("config.json").path }

    func statusJSON(_ dir: URL) throws -> [[String: Any]] {
        let (status, output) = try command(["status", "--json", "--config", config(dir)])
        XCTAssertEqual(status, 0, output)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]], output)
    }

    func testARunningJobReportsProgressInStatusItsPageAndSystemd() throws {
        let dir = try workspace(stride: 1)
        // systemd's notify socket, played by the test.
        let socketPath = dir.appendingPathComponent("notify.sock").path
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in socketPath.utf8.enumerated() { raw[i] = b } }
        XCTAssertEqual(withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }, 0)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        try drop(slowJob, dir.appendingPathComponent("inbox/slow.json"))
        let daemon = try start(dir, environment: ["NOTIFY_SOCKET": socketPath])
        var progress: [String: Any] = [:]
        try waitFor(60, "progress in status --json") {
            guard let p = try statusJSON(dir).first?["progress"] as? [String: Any], (p["step"] as? Int ?? 0) > 0 else { return false }
            progress = p
            return true
        }
        for key in ["stage", "step", "steps", "elapsed_seconds", "eta_seconds"] { XCTAssertNotNil(progress[key], key) }
        XCTAssertEqual(progress["stage"] as? String, "sampling")
        XCTAssertEqual(progress["steps"] as? Int, 150, "every strided step of the job")
        let (_, table) = try command(["status", "--config", config(dir)])
        XCTAssertTrue(table.contains("] ") && table.contains("/150 sampling") && table.contains("eta"), table)
        let page = dir.appendingPathComponent("gallery/jobs/1/index.html")
        try waitFor(10, "the running page") { try String(contentsOf: page, encoding: .utf8).contains("step ") }
        let running = try String(contentsOf: page, encoding: .utf8)
        XCTAssertTrue(running.contains("http-equiv=\"refresh\""), "a running page reloads itself")
        XCTAssertTrue(running.contains("preview.png"), "and shows the latest x̂₀")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("gallery/jobs/1/preview.png").path))
        XCTAssertTrue(try String(contentsOf: dir.appendingPathComponent("gallery/index.html"), encoding: .utf8).contains("class=\"progress\""))
        var messages: [String] = []
        try waitFor(10, "a STATUS naming the job and its step") {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 { messages.append(String(decoding: buffer.prefix(n), as: UTF8.self)) }
            return messages.contains { $0.hasPrefix("STATUS=job 1 'slow': sampling step ") }
        }
        try waitFor(120, "the job to finish") { try store(dir).jobs().first?.state == .done }
        Thread.sleep(forTimeInterval: 0.5)
        let finished = try String(contentsOf: page, encoding: .utf8)
        XCTAssertFalse(finished.contains("http-equiv=\"refresh\""), "a finished page stays still")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("gallery/jobs/1/preview.png").path))
        XCTAssertNil(try statusJSON(dir).first?["progress"], "progress only while running")
        daemon.terminate()
        daemon.waitForExit()
    }

    func testCancellingAQueuedJobAndARunningOneThenRetrying() throws {
        let dir = try workspace(stride: 1)
        try drop(slowJob, dir.appendingPathComponent("inbox/slow.json"))
        try drop(#"{"prompt": "a dog", "seed": 4, "stride": 100}"#, dir.appendingPathComponent("inbox/waiting.json"))
        let daemon = try start(dir)
        try waitFor(30, "the slow job to run") { try store(dir).jobs(state: .running).count == 1 }
        try waitFor(10, "the second job queued") { try store(dir).jobs(state: .queued).count == 1 }
        let queuedID = try XCTUnwrap(try store(dir).jobs(state: .queued).first?.id)
        XCTAssertTrue(try command(["cancel", String(queuedID), "--config", config(dir)]).1.contains("cancelled"))
        XCTAssertEqual(try store(dir).job(queuedID)?.state, .cancelled)
        try waitFor(10, "some steps") { (try store(dir).job(1)?.progress?.step ?? 0) >= 10 }
        let (status, output) = try command(["cancel", "1", "--config", config(dir)])
        XCTAssertEqual(status, 0, output)
        try waitFor(10, "the running job to stop") { try store(dir).job(1)?.state == .cancelled }
        let cancelled = try XCTUnwrap(try store(dir).job(1))
        XCTAssertLessThan(cancelled.attempts, 2)
        let gif = dir.appendingPathComponent("gallery/jobs/1/progress.gif")
        // The gallery host exports an ended job's files just after the state changes.
        try waitFor(10, "a cancelled job keeps its GIF so far") { FileManager.default.fileExists(atPath: gif.path) }
        XCTAssertEqual(try store(dir).results(of: 1).map(\.kind), [.gif])
        XCTAssertFalse(names(dir.appendingPathComponent("gallery/jobs/1")).contains { $0.hasPrefix("result") })
        let (again, message) = try command(["cancel", "1", "--config", config(dir)])
        XCTAssertNotEqual(again, 0)
        XCTAssertTrue(message.contains("only queued and running"), message)
        XCTAssertEqual(try command(["retry", String(queuedID), "--config", config(dir)]).0, 0)
        try waitFor(60, "the retried job") { try store(dir).job(queuedID)?.state == .done }
        XCTAssertEqual(try store(dir).job(1)?.state, .cancelled, "a cancelled job stays cancelled until retried")
        daemon.terminate()
        daemon.waitForExit()
        XCTAssertEqual(daemon.terminationStatus, 0)
    }

    func testAPauseSurvivesARestartAndHigherPriorityRunsFirst() throws {
        let dir = try workspace(stride: 100)
        XCTAssertEqual(try command(["pause", "--config", config(dir)]).0, 0)
        let inbox = dir.appendingPathComponent("inbox")
        for (k, (name, priority)) in [("a", 0), ("b", 5), ("c", -1), ("d", 0), ("e", 5)].enumerated() {
            try drop(#"{"prompt": "a cat", "seed": \#(k), "priority": \#(priority)}"#, inbox.appendingPathComponent("\(name).json"))
            Thread.sleep(forTimeInterval: 0.05)
        }
        let (log, again) = (dir.appendingPathComponent("daemon.log"), dir.appendingPathComponent("again.log"))
        var daemon = try start(dir, log: log)
        try waitFor(20, "five queued jobs") { try store(dir).jobs(state: .queued).count == 5 }
        try waitFor(20, "the worker to look at the five and decline") { try String(contentsOf: log, encoding: .utf8).contains("paused: 5 job(s) wait") }
        XCTAssertEqual(try store(dir).jobs(state: .queued).count, 5, "paused: nothing runs")
        daemon.terminate()
        daemon.waitForExit()
        daemon = try start(dir, log: again)
        try waitFor(20, "the restarted worker to look and decline") { try String(contentsOf: again, encoding: .utf8).contains("paused: 5 job(s) wait") }
        XCTAssertEqual(try store(dir).jobs(state: .queued).count, 5, "still paused after a restart")
        let (_, table) = try command(["status", "--config", config(dir)])
        XCTAssertTrue(table.contains("paused"), table)
        XCTAssertEqual(try command(["resume", "--config", config(dir)]).0, 0)
        try waitFor(60, "every job") { try store(dir).counts()[.done] == 5 }
        let order = try store(dir).jobs().sorted { $0.startedAt! < $1.startedAt! }.map(\.name)
        XCTAssertEqual(order, ["b", "e", "a", "d", "c"], "higher priority first, then oldest first")
        daemon.terminate()
        daemon.waitForExit()
    }

    func testWatchPausedStartsPausedAndFollowPrintsUntilTheQueueIsEmpty() throws {
        let dir = try workspace(stride: 100)
        try drop(#"{"prompt": "a dog", "seed": 2}"#, dir.appendingPathComponent("inbox/one.json"))
        let log = dir.appendingPathComponent("daemon.log")
        let daemon = try start(dir, log: log, arguments: ["watch", "--paused", "--config", config(dir)])
        try waitFor(20, "the worker to look at the queued job and decline") { try String(contentsOf: log, encoding: .utf8).contains("paused: 1 job(s) wait") }
        XCTAssertEqual(try store(dir).jobs(state: .queued).count, 1)
        XCTAssertEqual(try command(["resume", "--config", config(dir)]).0, 0)
        let (status, output) = try command(["status", "--follow", "--interval", "0.2", "--config", config(dir)])
        XCTAssertEqual(status, 0)
        XCTAssertTrue(output.split(separator: "\n").last?.contains("done 1") ?? false, output)
        daemon.terminate()
        daemon.waitForExit()
    }
}
