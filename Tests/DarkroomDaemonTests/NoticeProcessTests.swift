import Foundation
import XCTest
import DarkroomStore
import DarkroomTestSupport
import DarkroomJobModel

/// Notices from a real `darkroom watch` to a receiver on loopback: one POST per event with the documented keys, a
/// receiver that is down or failing for a while, a kill -9 between a job's end and its delivery, ntfy's form, a
/// command, and a unit that denies the network.
final class NoticeProcessTests: DaemonTestCase {
    let job = #"{"prompt": "a cat", "stride": 100, "seed": 3}"#
    let documentedKeys: Set<String> = ["event", "event_id", "time", "id", "name", "state", "mode", "model", "prompt", "prompts",
                                       "preset", "seed", "seconds", "error", "outputs", "page", "url"]

    func noticeWorkspace(targets: String, galleryURL: String? = nil) throws -> URL {
        let served = galleryURL.map { #", "gallery_url": "\#($0)""# } ?? ""
        return try workspace(extra: #", "poll_seconds": 0.2, "notify": [\#(targets)]\#(served)"#)
    }

    /// The environment that makes retries come quickly (0.3 s, 0.6 s, …).
    let quickRetries = ["DARKROOM_TEST_NOTICE_RETRY_SECONDS": "0.3"]

    func testEachEndIsPostedOnceWithTheDocumentedKeysAndAWorkingPage() throws {
        let receiver = try LoopbackReceiver()
        let dir = try noticeWorkspace(targets: #"{"url": "\#(receiver.url)", "on": ["done", "failed", "rejected", "cancelled"]}"#,
                                      galleryURL: "https://photos.example.org/dr")
        _ = try start(dir, log: dir.appendingPathComponent("watch.log"))
        try drop(job, dir.appendingPathComponent("inbox/cat.json"))
        try drop(#"{"mode": "nonsense"}"#, dir.appendingPathComponent("inbox/bad.json"))
        try waitFor(60, "two notices") { receiver.requests.count >= 2 }
        Thread.sleep(forTimeInterval: 2)
        let requests = receiver.requests
        XCTAssertEqual(requests.count, 2, "one POST per event: \(requests.map(\.json))")
        let s = try store(dir)
        for r in requests {
            XCTAssertEqual(r.method, "POST")
            XCTAssertEqual(r.path, "/hook")
            XCTAssertEqual(r.header("content-type"), "application/json")
            XCTAssertEqual(Set(r.json.keys), documentedKeys)
            let id = try XCTUnwrap(r.json["id"] as? Int)
            XCTAssertEqual(r.header("idempotency-key"), r.json["event_id"] as? String)
            XCTAssertEqual(try s.notices(of: Int64(id)).map(\.eventID), [r.json["event_id"] as? String], "the database's event id")
        }
        let done = try XCTUnwrap(requests.first { $0.json["event"] as? String == "job.done" }?.json)
        XCTAssertEqual(done["name"] as? String, "cat")
        XCTAssertEqual(done["state"] as? String, "done")
        XCTAssertEqual(done["mode"] as? String, "generate")
        XCTAssertEqual(done["model"] as? String, "tiny")
        XCTAssertEqual(done["prompt"] as? String, "a cat")
        XCTAssertEqual(done["seed"] as? Int, 3)
        XCTAssertTrue(done["error"] is NSNull)
        XCTAssertGreaterThan(done["seconds"] as? Double ?? 0, 0)
        let outputs = try XCTUnwrap(done["outputs"] as? [String])
        XCTAssertTrue(outputs.first?.hasSuffix("/result.png") ?? false, "\(outputs)")
        for path in outputs + [done["page"] as? String ?? "?"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("gallery/\(path)").path), "the gallery has \(path)")
        }
        XCTAssertEqual(done["url"] as? String, "https://photos.example.org/dr/\(done["page"] as? String ?? "?")")
        let rejected = try XCTUnwrap(requests.first { $0.json["event"] as? String == "job.rejected" }?.json)
        XCTAssertEqual(rejected["name"] as? String, "bad")
        XCTAssertTrue((rejected["error"] as? String ?? "").contains("nonsense"), "\(rejected)")
        XCTAssertTrue(rejected["seconds"] is NSNull)
        let (status, out) = try command(["status", "--notices", "--config", dir.appendingPathComponent("config.json").path])
        XCTAssertEqual(status, 0, out)
        XCTAssertTrue(out.contains("notices: 0 pending, 0 failed"), out)
    }

    func testAFailingThenDownReceiverGetsTheEventOnceBackWithTheSameEventID() throws {
        let receiver = try LoopbackReceiver()
        receiver.status = 503
        let dir = try noticeWorkspace(targets: #"{"url": "\#(receiver.url)"}"#)
        let log = dir.appendingPathComponent("watch.log")
        _ = try start(dir, log: log, environment: quickRetries)
        try drop(job, dir.appendingPathComponent("inbox/cat.json"))
        try waitFor(60, "two refused attempts") { receiver.requests.count >= 2 }
        receiver.stop()
        let config = dir.appendingPathComponent("config.json").path
        try waitFor(20, "status --notices to show the pending delivery") {
            let (_, out) = try command(["status", "--notices", "--config", config])
            return out.contains("pending") && out.contains("job 1 job.done → http://127.0.0.1:\(receiver.port)/… (json)") && out.contains("notices: 1 pending")
        }
        let (_, json) = try command(["status", "--notices", "--json", "--config", config])
        let pending = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        XCTAssertEqual(pending.first?["status"] as? String, "pending", json)
        XCTAssertGreaterThanOrEqual(pending.first?["attempts"] as? Int ?? 0, 2, json)
        let refused = receiver.requests.count
        Thread.sleep(forTimeInterval: 1.5)
        receiver.status = 200
        try receiver.start()
        try waitFor(30, "the delivery once the receiver is back") { receiver.requests.count > refused }
        Thread.sleep(forTimeInterval: 2)
        let all = receiver.requests
        XCTAssertEqual(all.count, refused + 1, "nothing after the one that succeeded")
        XCTAssertEqual(Set(all.compactMap { $0.header("idempotency-key") }).count, 1, "every attempt carries the same event id")
        XCTAssertEqual(Set(all.compactMap { $0.json["event_id"] as? String }).count, 1)
        let text = try String(contentsOf: log, encoding: .utf8)
        XCTAssertTrue(text.contains("HTTP 503"), "the log says why: \(text)")
        XCTAssertTrue(text.contains("trying again in"), text)
        XCTAssertFalse(text.contains("/hook"), "the log names the target without its path")
        let (_, after) = try command(["status", "--notices", "--config", config])
        XCTAssertTrue(after.contains("notices: 0 pending, 0 failed"), after)
    }

    func testAKillBetweenAJobsEndAndItsDeliveryDeliversItAfterTheRestart() throws {
        let receiver = try LoopbackReceiver()
        let dir = try noticeWorkspace(targets: #"{"url": "\#(receiver.url)"}"#)
        // Killed after the job ended and before anything was sent: the next start delivers it, once.
        var p = try start(dir, environment: ["DARKROOM_TEST_KILL_AT": "notice-before-send"])
        try drop(job, dir.appendingPathComponent("inbox/cat.json"))
        try waitFor(60, "the kill before the delivery") { !p.isRunning }
        XCTAssertEqual(p.terminationReason, .uncaughtSignal)
        XCTAssertEqual(try store(dir).job(1)?.state, .done)
        XCTAssertEqual(receiver.requests.count, 0)
        p = try start(dir)
        try waitFor(30, "the delivery after the restart") { receiver.requests.count == 1 }
        let eventID = try store(dir).notices(of: 1).first?.eventID
        XCTAssertEqual(receiver.requests.first?.json["event_id"] as? String, eventID)
        p.terminate(); p.waitForExit()
        // Killed after the receiver answered and before the delivery was recorded: sent again with the same event
        // id, which is how the receiver tells it has it (and the first job is not sent again).
        p = try start(dir, environment: ["DARKROOM_TEST_KILL_AT": "notice-after-send"])
        try drop(#"{"prompt": "a dog", "stride": 100, "seed": 4}"#, dir.appendingPathComponent("inbox/dog.json"))
        try waitFor(60, "the kill after the delivery") { !p.isRunning }
        XCTAssertEqual(receiver.requests.count, 2)
        p = try start(dir)
        try waitFor(30, "the second job's notice again") { receiver.requests.count == 3 }
        Thread.sleep(forTimeInterval: 2)
        let requests = receiver.requests
        XCTAssertEqual(requests.count, 3)
        XCTAssertEqual(requests.map { $0.json["name"] as? String ?? "?" }, ["cat", "dog", "dog"])
        XCTAssertEqual(requests[1].header("idempotency-key"), requests[2].header("idempotency-key"))
        XCTAssertEqual(requests[2].json["event_id"] as? String, try store(dir).notices(of: 2).first?.eventID)
    }

    func testAnNtfyTargetGetsTheMessageWithTitleTagsClickAndAttach() throws {
        let receiver = try LoopbackReceiver()
        let dir = try noticeWorkspace(targets: #"{"url": "\#(receiver.url)", "format": "ntfy"}"#, galleryURL: "http://photos.local/g/")
        _ = try start(dir)
        try drop(job, dir.appendingPathComponent("inbox/cat.json"))
        try waitFor(60, "the ntfy message") { receiver.requests.count == 1 }
        let r = receiver.requests[0]
        XCTAssertEqual(r.header("title"), "Darkroom: cat done")
        XCTAssertEqual(r.header("tags"), "white_check_mark,darkroom")
        XCTAssertEqual(r.header("click"), "http://photos.local/g/jobs/1/index.html")
        XCTAssertEqual(r.header("attach"), "http://photos.local/g/jobs/1/result.png")
        let body = String(decoding: r.body, as: UTF8.self)
        XCTAssertTrue(body.hasPrefix("Job 1 'cat' done after "), body)
        XCTAssertTrue(body.contains("Prompt: a cat"), body)
    }

    func testACommandTargetGetsTheEventOnStdinAndInItsEnvironment() throws {
        let dir = try workspace()
        let script = dir.appendingPathComponent("on-end.sh")
        try "#!/bin/sh\ncat > \"$1/event.json\"\nenv | grep '^DARKROOM_' | sort > \"$1/env.txt\"\n".write(to: script, atomically: true, encoding: .utf8)
        chmod(script.path, 0o755)
        let failing = dir.appendingPathComponent("fails.sh")
        try "#!/bin/sh\necho 'no such channel' >&2\nexit 3\n".write(to: failing, atomically: true, encoding: .utf8)
        chmod(failing.path, 0o755)
        try #"{"models": {"tiny": "models/tiny"}, "defaults": {"stride": 100}, "threads": 1, "poll_seconds": 0.2, "notify": [{"command": ["on-end.sh", "\#(dir.path)"]}, {"command": ["\#(failing.path)"], "on": ["done"]}]}"#
            .write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        _ = try start(dir, environment: quickRetries)
        try drop(job, dir.appendingPathComponent("inbox/cat.json"))
        try waitFor(60, "the command's files") { FileManager.default.fileExists(atPath: dir.appendingPathComponent("env.txt").path) }
        Thread.sleep(forTimeInterval: 0.5)
        let event = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("event.json"))) as? [String: Any])
        XCTAssertEqual(Set(event.keys), documentedKeys)
        XCTAssertEqual(event["event"] as? String, "job.done")
        let env = try String(contentsOf: dir.appendingPathComponent("env.txt"), encoding: .utf8)
        XCTAssertTrue(env.contains("DARKROOM_EVENT=job.done\n"), env)
        XCTAssertTrue(env.contains("DARKROOM_EVENT_ID=\(event["event_id"] as? String ?? "?")\n"), env)
        XCTAssertTrue(env.contains("DARKROOM_NAME=cat\n"), env)
        XCTAssertTrue(env.contains("DARKROOM_PAGE=jobs/1/index.html\n"), env)
        let config = dir.appendingPathComponent("config.json").path
        try waitFor(20, "the failing command's status") {
            let (_, out) = try command(["status", "--notices", "--config", config])
            return out.contains("command \(failing.path): pending") && out.contains("exited with status 3: no such channel")
        }
    }

    func testURLTargetsWhereTheNetworkIsDeniedStopWatchAtStartNamingTheDropIn() throws {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") else {
            throw XCTSkip("needs root and unshare(1) for a process without a network (as PrivateNetwork=yes gives)")
        }
        let dir = try noticeWorkspace(targets: #"{"url": "https://ntfy.example.org/topic"}"#)
        let config = dir.appendingPathComponent("config.json").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        p.arguments = ["--net", binary, "watch", "--config", config]
        let pipe = Pipe()
        p.standardError = pipe
        p.standardOutput = pipe
        try p.run()
        addTeardownBlock { if p.isRunning { p.terminate(); p.waitForExit() } }
        try waitFor(30, "watch to stop at start") { !p.isRunning }
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertNotEqual(p.terminationStatus, 0, out)
        XCTAssertTrue(out.contains("notify[0]") && out.contains("darkroom.service.d-notify.conf"), out)
        XCTAssertFalse(out.contains("/topic"), "the message names the host, not the token-bearing path: \(out)")
    }
}
