import Foundation
import XCTest
import DarkroomStore
import DarkroomTestSupport
import DarkroomJobModel

/// `darkroom prune` and `star`, as real processes, on SQLite and on PostgreSQL: exactly what is past retention goes
/// (folder, rows, pages, old set-aside files), never a starred, queued or running job; `--dry-run` removes nothing.
final class PruneProcessTests: DaemonTestCase {
    let daysAgo40 = Date().addingTimeInterval(-40 * 86_400)

    /// A workspace on `engine` with four ended jobs (1–3 done, 4 rejected) and `retention`.
    func prunedWorkspace(postgres: Bool, retention: String) throws -> (dir: URL, store: any JobStore) {
        var database = ""
        var url: String?
        if postgres {
            url = try PostgresTestServer.shared().freshDatabase(prefix: "prune")
            database = #", "database": "\#(url!)""#
        }
        let dir = try workspace(extra: #"\#(database), "retention": \#(retention)"#)
        for (k, name) in ["a", "b", "c"].enumerated() {
            try drop(#"{"prompt": "a cat", "seed": \#(k)}"#, dir.appendingPathComponent("inbox/\(name).json"))
        }
        try drop(#"{"mode": "nonsense"}"#, dir.appendingPathComponent("inbox/bad.json"))
        XCTAssertEqual(try runOnce(dir), 0)
        let store: any JobStore = postgres ? try PostgresJobStore(url: url!) : try self.store(dir)
        XCTAssertEqual(try store.counts()[.done], 3)
        XCTAssertEqual(try store.counts()[.rejected], 1)
        return (dir, store)
    }

    func prune(_ dir: URL, _ options: [String] = []) throws -> String {
        let (status, out) = try command(["prune", "--config", dir.appendingPathComponent("config.json").path] + options)
        XCTAssertEqual(status, 0, out)
        return out
    }

    func testPruneRemovesExactlyWhatIsPastRetentionOnBothEngines() throws {
        var skipped: XCTSkip?
        for postgres in [false, true] {
            let engine = postgres ? "postgresql" : "sqlite"
            let dir: URL, store: any JobStore
            do { (dir, store) = try prunedWorkspace(postgres: postgres, retention: #"{"days": 30, "rejected_days": 7}"#) } catch let skip as XCTSkip {
                skipped = skip
                continue
            }
            let config = dir.appendingPathComponent("config.json").path
            // Jobs a and b and the rejection ended 40 days ago (failed, as a person's `fail` at that time records it);
            // b is starred; c is recent; a job has been queued for 40 days.
            let ids = Dictionary(uniqueKeysWithValues: try store.jobs().map { ($0.name, $0.id!) })
            let (a, b, c, bad) = (ids["a"]!, ids["b"]!, ids["c"]!, ids["bad"]!)
            for id in [a, b] { try store.fail(id, error: "aged by the test", state: .failed, now: daysAgo40) }
            try store.fail(bad, error: "bad sidecar", state: .rejected, now: daysAgo40)
            var old = Job(name: "waiting", request: EditRequest(mode: .generate), model: "tiny", inputHash: "old-queued")
            old.createdAt = daysAgo40
            _ = try store.enqueue(old)
            let (starStatus, starOut) = try command(["star", String(b), "--config", config])
            XCTAssertEqual(starStatus, 0, starOut)
            XCTAssertEqual(try command(["star", "99", "--config", config]).0, 64, "\(engine): no such job is a usage error")
            // An old and a recent file in rejected/.
            let rejected = dir.appendingPathComponent("inbox/rejected")
            let oldNote = try XCTUnwrap(names(rejected).sorted().first { $0.hasSuffix(".error.json") }, "\(engine): \(names(rejected))")
            var times = [timespec(tv_sec: Int(daysAgo40.timeIntervalSince1970), tv_nsec: 0), timespec(tv_sec: Int(daysAgo40.timeIntervalSince1970), tv_nsec: 0)]
            XCTAssertEqual(utimensat(AT_FDCWD, rejected.appendingPathComponent(oldNote).path, &times, 0), 0)
            try Data("new".utf8).write(to: rejected.appendingPathComponent("recent.json"))
            let beforeFolders = names(dir.appendingPathComponent("gallery/jobs"))

            let dry = try prune(dir, ["--dry-run"])
            XCTAssertTrue(dry.contains("would remove job \(a) 'a' (failed"), "\(engine): \(dry)")
            XCTAssertTrue(dry.contains("would remove job \(bad) 'bad' (rejected"), "\(engine): \(dry)")
            XCTAssertTrue(dry.contains("would remove rejected/\(oldNote)"), "\(engine): \(dry)")
            XCTAssertTrue(dry.contains("would remove 2 jobs and 1 set-aside file"), "\(engine): \(dry)")
            XCTAssertEqual(try store.jobs().count, 5, "\(engine): a dry run removes nothing")
            XCTAssertEqual(names(dir.appendingPathComponent("gallery/jobs")), beforeFolders, engine)
            XCTAssertTrue(names(rejected).contains(oldNote), engine)

            let out = try prune(dir)
            XCTAssertTrue(out.contains("removed 2 jobs and 1 set-aside file, freeing "), "\(engine): \(out)")
            XCTAssertEqual(try store.jobs().map(\.name).sorted(), ["b", "c", "waiting"], "\(engine): starred b, recent c and the queued job stay")
            XCTAssertFalse(names(dir.appendingPathComponent("gallery/jobs")).contains(String(a)), "\(engine): a's folder is gone")
            XCTAssertTrue(names(dir.appendingPathComponent("gallery/jobs")).isSuperset(of: [String(b), String(c)]), engine)
            XCTAssertFalse(names(rejected).contains(oldNote), engine)
            XCTAssertTrue(names(rejected).contains("recent.json"), "\(engine): a recent set-aside file stays")
            let index = try String(contentsOf: dir.appendingPathComponent("gallery/index.html"), encoding: .utf8)
            XCTAssertFalse(index.contains("jobs/\(a)/index.html"), "\(engine): the index no longer names a")
            XCTAssertTrue(index.contains("jobs/\(c)/index.html"), engine)
            let listing = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("gallery/jobs.json"))) as? [String: Any])
            let listed = try XCTUnwrap(listing["jobs"] as? [[String: Any]])
            XCTAssertEqual(listed.compactMap { $0["name"] as? String }.sorted(), ["b", "c", "waiting"], engine)
            XCTAssertEqual(listed.first { $0["name"] as? String == "b" }?["starred"] as? Bool, true, engine)
            XCTAssertTrue(try prune(dir).contains("removed 0 jobs and 0 set-aside files"), "\(engine): nothing left to remove")
            // --older-than 0: every ended unstarred job, whatever retention's days; unstar makes b removable.
            XCTAssertEqual(try command(["unstar", String(b), "--config", config]).0, 0)
            let all = try prune(dir, ["--older-than", "0"])
            XCTAssertTrue(all.contains("removed 2 jobs"), "\(engine): \(all)")
            XCTAssertEqual(try store.jobs().map(\.name), ["waiting"], "\(engine): the queued job is never removed")
        }
        if let skipped { throw XCTSkip("ran on SQLite only: \(skipped.message ?? "PostgreSQL unavailable")") }
    }

    func testWithoutRetentionNothingIsRemovedAndWatchPrunesByTheSameCode() throws {
        let dir = try workspace(extra: #", "poll_seconds": 0.2"#)
        try drop(#"{"prompt": "a cat", "seed": 1}"#, dir.appendingPathComponent("inbox/a.json"))
        XCTAssertEqual(try runOnce(dir), 0)
        try store(dir).fail(1, error: "aged by the test", state: .failed, now: daysAgo40)
        XCTAssertTrue(try prune(dir).contains("nothing to remove: config.json has no \"retention\""))
        XCTAssertEqual(try store(dir).jobs().count, 1)
        // The same workspace with retention: a running watch prunes it (every 1 s here, daily by default).
        let config = dir.appendingPathComponent("config.json")
        let text = try String(contentsOf: config, encoding: .utf8)
        try text.replacingOccurrences(of: #""poll_seconds": 0.2"#, with: #""poll_seconds": 0.2, "retention": {"days": 30}"#)
            .write(to: config, atomically: true, encoding: .utf8)
        let log = dir.appendingPathComponent("watch.log")
        _ = try start(dir, log: log, environment: ["DARKROOM_TEST_PRUNE_SECONDS": "1"])
        try waitFor(30, "watch to prune job 1") { try store(dir).jobs().isEmpty }
        try waitFor(10, "the log line") { try String(contentsOf: log, encoding: .utf8).contains("retention: removed 1 job and 0 set-aside files") }
        try waitFor(10, "the index without job 1") {
            !(try String(contentsOf: dir.appendingPathComponent("gallery/index.html"), encoding: .utf8)).contains("jobs/1/index.html")
        }
        XCTAssertFalse(names(dir.appendingPathComponent("gallery/jobs")).contains("1"))
    }
}
