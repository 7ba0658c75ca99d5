import Foundation
import XCTest
import DarkroomStore
import DarkroomTestSupport
import DarkroomJobModel

/// One intake and several workers on one PostgreSQL queue, as real processes: killed, stopped past their leases, cut
/// off by a server restart, and on a second host in a network namespace. Every job is done exactly once.
final class DistributedQueueTests: DaemonTestCase {
    /// A workspace whose database is a fresh PostgreSQL database, with short leases so that rescues come quickly.
    func postgresWorkspace(stride: Int = 30, lease: Double = 2) throws -> (dir: URL, url: String) {
        let url = try PostgresTestServer.shared().freshDatabase(prefix: "proc")
        let dir = try workspace(stride: stride, extra: """
            , "database": "\(url)", "lease_seconds": \(lease), "lease_renew_seconds": \(lease / 4), "poll_seconds": 0.5, "max_attempts": 20
            """)
        return (dir, url)
    }

    /// `darkroom worker` with the workspace's config; stderr into `log`.
    func startWorker(_ dir: URL, log: URL, prefix: [String] = [], config: URL? = nil, environment: [String: String] = [:]) throws -> Process {
        let configPath = (config ?? dir.appendingPathComponent("config.json")).path
        if prefix.isEmpty { return try start(dir, log: log, arguments: ["worker", "--config", configPath, "--threads", "1"], environment: environment) }
        // Run through another program (`ip netns exec NS …`): the binary becomes an argument.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: prefix[0])
        p.arguments = Array(prefix.dropFirst()) + [binary, "worker", "--config", configPath, "--threads", "1"]
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        p.standardError = try FileHandle(forWritingTo: log)
        p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        addTeardownBlock { if p.isRunning { p.terminate(); p.waitForExit() } }
        return p
    }

    func dropJobs(_ dir: URL, count: Int, from first: Int = 0, extra: String = "") throws {
        for k in first..<(first + count) {
            try drop(#"{"prompt": "\#(k % 2 == 0 ? "a cat" : "a dog")", "seed": \#(k)\#(extra)}"#, dir.appendingPathComponent("inbox/job\(k).json"))
        }
    }

    /// Every job done once: one row per result file, each file in the gallery with the bytes the database holds.
    func assertEveryJobDoneOnce(_ store: any JobStore, count: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let jobs = try store.jobs(limit: 10_000)
        XCTAssertEqual(jobs.count, count, "jobs", file: file, line: line)
        let counts = try store.counts()
        XCTAssertEqual(jobs.filter { $0.state == .done }.count, count, "done: \(counts)", file: file, line: line)
        for job in jobs {
            let results = try store.results(of: job.id!)
            let paths = results.map(\.path)
            XCTAssertEqual(Set(paths).count, paths.count, "job \(job.id!): a file recorded twice", file: file, line: line)
            XCTAssertEqual(Set(results.map(\.kind)), [.result, .gif, .comparison], "job \(job.id!)", file: file, line: line)
            let files = try store.resultFiles(of: job.id!)
            for r in results {
                XCTAssertEqual(FileManager.default.contents(atPath: r.path), files[r.id!], "job \(job.id!): \(r.path) in the gallery", file: file, line: line)
            }
        }
        XCTAssertEqual(try store.jobsToExport(limit: 10), [], "every ended job is in the gallery", file: file, line: line)
    }

    func testOneIntakePerDatabaseAndAClearErrorForAnUnreachableServer() throws {
        let (dir, _) = try postgresWorkspace()
        let config = dir.appendingPathComponent("config.json").path
        let first = try start(dir, log: dir.appendingPathComponent("first.log"), arguments: ["watch", "--no-worker", "--config", config])
        try waitFor(30, "the first intake to start") {
            (try String(contentsOf: dir.appendingPathComponent("first.log"), encoding: .utf8)).contains("watching")
        }
        let (status, output) = try command(["watch", "--config", config])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("another darkroom watch already runs the intake"), output)
        XCTAssertTrue(first.isRunning)
        first.terminate()
        first.waitForExit()
        // A worker pointed at a server that is not there says so and exits; it does not loop.
        let nowhere = dir.appendingPathComponent("nowhere.json")
        try #"{"models": {"tiny": "models/tiny"}, "database": "postgresql://darkroom:secret@127.0.0.1:1/none"}"#.write(to: nowhere, atomically: true, encoding: .utf8)
        let (badStatus, badOutput) = try command(["worker", "--config", nowhere.path])
        XCTAssertNotEqual(badStatus, 0)
        XCTAssertTrue(badOutput.contains("cannot reach postgresql://darkroom@127.0.0.1:1/none"), badOutput)
        XCTAssertFalse(badOutput.contains("secret"), "the password is never printed: \(badOutput)")
    }

    func testKilledWorkersLoseNoJobAndRunNoneTwice() throws {
        // 60 steps a job: the 200 jobs last long enough (~20 s) for the workers to be killed many times mid-job.
        let (dir, url) = try postgresWorkspace(stride: 5)
        let intake = try start(dir, log: dir.appendingPathComponent("intake.log"), arguments: ["watch", "--no-worker", "--config", dir.appendingPathComponent("config.json").path])
        var workers = try (0..<3).map { try startWorker(dir, log: dir.appendingPathComponent("worker\($0)-0.log")) }
        try dropJobs(dir, count: 200)
        let store = try PostgresJobStore(url: url)
        var rng = SystemRandomNumberGenerator()
        var kills = 0
        let deadline = Date().addingTimeInterval(240)
        while try store.counts()[.done] ?? 0 < 200, Date() < deadline {
            Thread.sleep(forTimeInterval: 1.5)
            let k = Int.random(in: 0..<3, using: &rng)
            kill(workers[k].processIdentifier, SIGKILL)
            workers[k].waitForExit()
            kills += 1
            workers[k] = try startWorker(dir, log: dir.appendingPathComponent("worker\(k)-\(kills).log"))
        }
        try waitFor(60, "200 done jobs") { try store.counts()[.done] == 200 }
        try waitFor(20, "the gallery to have every job") { try store.jobsToExport(limit: 1).isEmpty }
        try assertEveryJobDoneOnce(store, count: 200)
        let jobs = try store.jobs(limit: 1000)
        XCTAssertGreaterThan(kills, 3)
        XCTAssertTrue(jobs.contains { $0.attempts > 1 }, "some job was interrupted by a kill and run again (\(kills) kills)")
        // A kill interrupts at most the one job its worker runs: every extra attempt is owed to a kill.
        XCTAssertTrue(jobs.allSatisfy { $0.attempts >= 1 })
        XCTAssertLessThanOrEqual(jobs.map { $0.attempts - 1 }.reduce(0, +), kills, "no job ran again without a kill")
        let logs = try (FileManager.default.contentsOfDirectory(atPath: dir.path)).filter { $0.hasSuffix(".log") }
            .map { try String(contentsOf: dir.appendingPathComponent($0), encoding: .utf8) }.joined()
        XCTAssertTrue(logs.contains("lease expired; queued again"), "rescues are logged")
        intake.terminate()
        for w in workers { w.terminate() }
    }

    func testAWorkerWhoseClockIsTwoMinutesFastTakesNoOtherWorkersJob() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/faketime") else {
            throw XCTSkip("needs Debian's faketime (apt install faketime) to give a worker a skewed clock")
        }
        // Six jobs of ~3 s (30 slowed steps) each, lease 2 s: every job outlives several leases, renewed all along.
        let (dir, url) = try postgresWorkspace(stride: 10, lease: 2)
        let intake = try start(dir, log: dir.appendingPathComponent("intake.log"), arguments: ["watch", "--no-worker", "--config", dir.appendingPathComponent("config.json").path])
        let slow = ["/usr/bin/env", "DARKROOM_TEST_STEP_SECONDS=0.1"]
        let honest = try startWorker(dir, log: dir.appendingPathComponent("honest.log"), prefix: slow)
        // A wall clock 120 s fast; monotonic time untouched (as NTP-less hosts drift), the arguments passed through.
        let fastLog = dir.appendingPathComponent("fast.log")
        let fast = try startWorker(dir, log: fastLog, prefix: slow + ["FAKETIME_DONT_FAKE_MONOTONIC=1", "/usr/bin/faketime", "-f", "+120s"])
        try dropJobs(dir, count: 6)
        let store = try PostgresJobStore(url: url)
        try waitFor(120, "six done jobs") { try store.counts()[.done] == 6 }
        let jobs = try store.jobs(limit: 100)
        XCTAssertEqual(jobs.map(\.attempts), [1, 1, 1, 1, 1, 1], "no job was taken from the worker running it")
        XCTAssertEqual(Set(jobs.compactMap(\.worker)).count, 2, "both workers ran jobs: \(jobs.compactMap(\.worker))")
        let warning = try String(contentsOf: fastLog, encoding: .utf8)
        XCTAssertTrue(warning.contains("clock is 120") && warning.contains("ahead of the database"), warning)
        let skews = Array(try store.recordedClockSkews().values)
        XCTAssertEqual(skews.filter { abs($0 - 120) < 2 }.count, 1, "the fast worker's skew is recorded: \(skews)")
        intake.terminate()
        honest.terminate()
        for p in [intake, honest] { p.waitForExit() }
        // libfaketime also bends libdispatch's timed waits (their deadlines are converted on the faked clock), so the
        // fast worker may not hear SIGTERM in time: it is killed instead, with faketime's wrapper.
        let pid = fast.processIdentifier
        let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        for child in children.split(separator: " ").compactMap({ pid_t($0) }) { kill(child, SIGKILL) }
        kill(pid, SIGKILL)
        fast.waitForExit()
    }

    func testAWorkerStoppedPastItsLeaseIsRefusedWhenItWakes() throws {
        let (dir, url) = try postgresWorkspace(stride: 2, lease: 2)
        let intake = try start(dir, log: dir.appendingPathComponent("intake.log"), arguments: ["watch", "--no-worker", "--config", dir.appendingPathComponent("config.json").path])
        let logs = (0..<2).map { dir.appendingPathComponent("worker\($0).log") }
        let workers = try logs.map { try startWorker(dir, log: $0) }
        try drop(#"{"prompt": "a cat", "seed": 5, "count": 4}"#, dir.appendingPathComponent("inbox/slow.json"))
        let store = try PostgresJobStore(url: url)
        try waitFor(60, "the job to start") { try store.jobs(state: .running).count == 1 }
        let first = try XCTUnwrap(try store.jobs(state: .running).first)
        let holder = try XCTUnwrap(workers.firstIndex { first.worker?.contains("/\($0.processIdentifier)/") == true }, "\(first.worker ?? "-")")
        kill(workers[holder].processIdentifier, SIGSTOP)
        try waitFor(60, "the job to be rescued and taken by the other worker") {
            let j = try store.job(first.id!)
            return j?.attempts == 2 && j?.worker != first.worker
        }
        try waitFor(120, "the other worker to finish it") { try store.job(first.id!)?.state == .done }
        let before = try store.resultFiles(of: first.id!)
        kill(workers[holder].processIdentifier, SIGCONT)
        try waitFor(60, "the woken worker to notice") {
            (try String(contentsOf: logs[holder], encoding: .utf8)).contains("the claim was lost")
        }
        Thread.sleep(forTimeInterval: 1)
        let done = try XCTUnwrap(try store.job(first.id!))
        XCTAssertEqual(done.state, .done)
        XCTAssertEqual(done.attempts, 2)
        XCTAssertNotEqual(done.worker, first.worker)
        XCTAssertEqual(try store.resultFiles(of: first.id!), before, "the late worker wrote nothing")
        try waitFor(20, "the gallery export") { try store.jobsToExport(limit: 1).isEmpty }
        try assertEveryJobDoneOnce(store, count: 1)
        intake.terminate()
        for w in workers { w.terminate() }
    }

    func testAServerRestartMidRunIsRiddenOut() throws {
        let server = try PostgresTestServer.shared()
        let (dir, url) = try postgresWorkspace(stride: 10, lease: 30)
        let intake = try start(dir, log: dir.appendingPathComponent("intake.log"), arguments: ["watch", "--no-worker", "--config", dir.appendingPathComponent("config.json").path])
        let logs = (0..<2).map { dir.appendingPathComponent("worker\($0).log") }
        let workers = try logs.map { try startWorker(dir, log: $0) }
        try dropJobs(dir, count: 60)
        let store = try PostgresJobStore(url: url)
        try waitFor(60, "all 60 queued") { try store.jobs(limit: 100).count == 60 }
        try waitFor(60, "some jobs done") { try store.counts()[.done] ?? 0 >= 10 }
        try server.restart()
        try waitFor(180, "every job done after the restart") { try store.counts()[.done] == 60 }
        try waitFor(30, "the gallery to have every job") { try store.jobsToExport(limit: 1).isEmpty }
        try assertEveryJobDoneOnce(store, count: 60)
        XCTAssertTrue(workers.allSatisfy(\.isRunning), "workers rode out the restart")
        XCTAssertTrue(intake.isRunning, "the intake rode out the restart")
        let text = try logs.map { try String(contentsOf: $0, encoding: .utf8) }.joined()
        XCTAssertTrue(text.contains("connected again"), "reconnections are logged")
        intake.terminate()
        for w in workers { w.terminate() }
    }

    func testClaimsWhoseRepliesWereLostRunAtOnceWithOneAttempt() throws {
        let (dir, url) = try postgresWorkspace(stride: 30, lease: 30)
        let log = dir.appendingPathComponent("worker.log")
        let intake = try start(dir, log: dir.appendingPathComponent("intake.log"), arguments: ["watch", "--no-worker", "--config", dir.appendingPathComponent("config.json").path])
        let store = try PostgresJobStore(url: url)
        try dropJobs(dir, count: 3)
        try waitFor(60, "three queued") { try store.jobs(state: .queued).count == 3 }
        let started = Date()
        let worker = try startWorker(dir, log: log, environment: ["DARKROOM_TEST_LOSE_CLAIM_REPLIES": "3"])
        try waitFor(60, "every job done") { try store.counts()[.done] == 3 }
        XCTAssertLessThan(Date().timeIntervalSince(started), 25, "no claim waited out its 30-second lease")
        XCTAssertEqual(try store.jobs().map(\.attempts), [1, 1, 1], "each job ran once")
        let text = try String(contentsOf: log, encoding: .utf8)
        XCTAssertEqual(text.components(separatedBy: "lost the connection").count - 1, 3, "three replies were lost:\n\(text)")
        worker.terminate()
        intake.terminate()
        worker.waitForExit()
        intake.waitForExit()
    }

    func testAStoppedServerAndARestartDuringDropsAndJobsCostNoDropAndNoJob() throws {
        let server = try PostgresTestServer.shared()
        addTeardownBlock { try? server.up() }  // never leave the server down for the tests after this one
        let (dir, url) = try postgresWorkspace(stride: 10, lease: 4)
        // The processes give up reconnecting after 3 s, so the 10-second outage outlives every retry; each step takes
        // 30 ms more, so jobs are running when the server goes.
        let environment = ["DARKROOM_TEST_RECONNECT_SECONDS": "3", "DARKROOM_TEST_STEP_SECONDS": "0.03"]
        let intakeLog = dir.appendingPathComponent("intake.log"), workerLog = dir.appendingPathComponent("worker.log")
        let intake = try start(dir, log: intakeLog, arguments: ["watch", "--no-worker", "--config", dir.appendingPathComponent("config.json").path],
                               environment: environment)
        let worker = try startWorker(dir, log: workerLog, environment: environment)
        let store = try PostgresJobStore(url: url)
        try dropJobs(dir, count: 4)
        try waitFor(60, "the first drops queued and one done") { try store.counts()[.done] ?? 0 >= 1 && store.jobs(limit: 100).count == 4 }
        try server.stop()
        try dropJobs(dir, count: 4, from: 4)  // dropped while the server is down
        Thread.sleep(forTimeInterval: 10)
        try server.up()
        try dropJobs(dir, count: 4, from: 8)
        Thread.sleep(forTimeInterval: 0.5)
        try server.restart()  // during drops, and with jobs running
        try dropJobs(dir, count: 4, from: 12)
        try waitFor(240, "every drop a job, every job done") { try store.counts()[.done] == 16 }
        let inbox = dir.appendingPathComponent("inbox")
        XCTAssertEqual(names(inbox.appendingPathComponent("rejected")), [], "nothing rejected because of the outage")
        XCTAssertEqual(names(inbox).subtracting(["rejected", "duplicates"]), [], "every drop taken")
        let jobs = try store.jobs(limit: 100)
        XCTAssertEqual(Set(jobs.map(\.name)), Set((0..<16).map { "job\($0)" }), "each drop once")
        XCTAssertEqual(try store.counts(), [.done: 16], "no job failed because of the outage")
        XCTAssertTrue(intake.isRunning && worker.isRunning, "both processes rode out the outage")
        let logs = try String(contentsOf: intakeLog, encoding: .utf8) + String(contentsOf: workerLog, encoding: .utf8)
        // Errors are logged (level 3) only once the retries gave up: the outage outlived them, so the test is not vacuous.
        XCTAssertTrue(logs.split(separator: "\n").contains { $0.hasPrefix("<3>") && $0.contains("database") },
                      "the outage outlived the retries:\n\(logs.suffix(3000))")
        intake.terminate()
        worker.terminate()
        intake.waitForExit()
        worker.waitForExit()
    }

    func testAWorkerOnAnotherHostRunsJobsOverTCPWithAPassword() throws {
        let server = try PostgresTestServer.shared()
        let (dir, url) = try postgresWorkspace()
        // A second host: a network namespace joined to this one by a veth pair, 10.231.<n>.1 here and .2 there.
        let net = NetworkNamespace()
        try net.create()
        defer { net.remove() }
        let database = URL(string: url)!.lastPathComponent
        // The worker-only host's config: the database (password in the URL) and the models, no inbox or gallery.
        let remote = dir.appendingPathComponent("remote.json")
        try #"{"models": {"tiny": "\#(dir.path)/models/tiny"}, "defaults": {"stride": 30}, "threads": 1, "poll_seconds": 0.5, "database": "\#(server.url(database: database, host: net.hostAddress, password: "darkroom-test"))"}"#
            .write(to: remote, atomically: true, encoding: .utf8)
        let intake = try start(dir, log: dir.appendingPathComponent("intake.log"), arguments: ["watch", "--no-worker", "--config", dir.appendingPathComponent("config.json").path])
        let log = dir.appendingPathComponent("remote-worker.log")
        let worker = try startWorker(dir, log: log, prefix: ["/usr/bin/env", "ip", "netns", "exec", net.name], config: remote)
        try dropJobs(dir, count: 20)
        let store = try PostgresJobStore(url: url)
        try waitFor(120, "20 jobs done by the remote worker") { try store.counts()[.done] == 20 }
        try waitFor(20, "the gallery export") { try store.jobsToExport(limit: 1).isEmpty }
        try assertEveryJobDoneOnce(store, count: 20)
        let workersSeen = Set(try store.jobs(limit: 100).compactMap(\.worker))
        XCTAssertEqual(workersSeen.count, 1)
        let text = try String(contentsOf: log, encoding: .utf8)
        XCTAssertTrue(text.contains("@\(net.hostAddress):"), "the worker reached the server over the veth pair: \(text.prefix(300))")
        XCTAssertFalse(text.contains("darkroom-test"), "the password is never logged")
        worker.terminate()
        worker.waitForExit()
        intake.terminate()
    }
}

/// A network namespace with a veth pair to this one, for a second "host" on one machine (needs root and iproute2).
final class NetworkNamespace {
    let n = Int.random(in: 2...250)
    var name: String { "darkroom-test-\(n)" }
    var hostAddress: String { "10.231.\(n).1" }
    var guestAddress: String { "10.231.\(n).2" }
    var hostLink: String { "drv\(n)h" }

    func create() throws {
        try XCTSkipIf(geteuid() != 0, "needs root, to make a network namespace as a second host (ip netns)")
        remove()
        for command in [["ip", "netns", "add", name],
                        ["ip", "link", "add", hostLink, "type", "veth", "peer", "name", "drv\(n)g"],
                        ["ip", "link", "set", "drv\(n)g", "netns", name],
                        ["ip", "addr", "add", hostAddress + "/24", "dev", hostLink],
                        ["ip", "link", "set", hostLink, "up"],
                        ["ip", "netns", "exec", name, "ip", "addr", "add", guestAddress + "/24", "dev", "drv\(n)g"],
                        ["ip", "netns", "exec", name, "ip", "link", "set", "drv\(n)g", "up"],
                        ["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"]] {
            let (status, output) = NetworkNamespace.run(command)
            guard status == 0 else {
                throw TestServerError("`\(command.joined(separator: " "))` failed (\(output)): this machine refuses network namespaces (they need root and iproute2)")
            }
        }
    }

    func remove() {
        _ = NetworkNamespace.run(["ip", "link", "del", hostLink])
        _ = NetworkNamespace.run(["ip", "netns", "del", name])
    }

    static func run(_ command: [String]) -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = command
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        do { try p.run() } catch { return (-1, "\(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitForExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
