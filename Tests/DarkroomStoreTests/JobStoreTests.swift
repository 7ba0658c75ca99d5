import Foundation
import GRDB
import XCTest
@testable import DarkroomStore

/// The queue's guarantees, each on a fresh database.
final class JobStoreTests: XCTestCase {
    private func job(_ n: Int, hash: String? = nil) -> Job {
        Job(name: "job\(n)", mode: "generate", model: "fashion", prompt: "a bag", seed: Int64(n),
                  request: nil, inputHash: hash ?? "hash\(n)", folder: "/tmp/job\(n)")
    }

    func testSameInputsMakeOneJob() throws {
        let store = try SQLiteJobStore()
        let (first, inserted) = try store.enqueue(job(1, hash: "same"))
        let (second, insertedAgain) = try store.enqueue(job(2, hash: "same"))
        XCTAssertTrue(inserted)
        XCTAssertFalse(insertedAgain)
        XCTAssertEqual(first.id, second.id)
        XCTAssertEqual(try store.jobs().count, 1)
    }

    func testClaimsTakeTheOldestQueuedJobOnce() throws {
        let store = try SQLiteJobStore()
        for n in 1...3 { _ = try store.enqueue(job(n)) }
        let a = try XCTUnwrap(try store.claimNext())
        XCTAssertEqual(a.name, "job1")
        XCTAssertEqual(a.state, .running)
        XCTAssertEqual(a.attempts, 1)
        XCTAssertNotNil(a.startedAt)
        XCTAssertEqual(try store.claimNext()?.name, "job2")
        XCTAssertEqual(try store.claimNext()?.name, "job3")
        XCTAssertNil(try store.claimNext())
    }

    func testConcurrentClaimersNeverShareAJob() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("q.sqlite").path
        let store = try SQLiteJobStore(path: path)
        for n in 0..<200 { _ = try store.enqueue(job(n)) }
        let other = try SQLiteJobStore(path: path)
        let claimed = Collected<Int64>()
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            let s = worker % 2 == 0 ? store : other
            while let j = try? s.claimNext() { claimed.append(j.id!) }
        }
        XCTAssertEqual(claimed.items.count, 200)
        XCTAssertEqual(Set(claimed.items).count, 200)
        let mode = try store.writer.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
        XCTAssertEqual(mode, "wal")
    }

    func testConnectionsOpeningANewDatabaseTogetherAllSucceed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for round in 0..<40 {
            let path = dir.appendingPathComponent("new\(round).sqlite").path
            let errors = Collected<String>()
            DispatchQueue.concurrentPerform(iterations: 4) { _ in
                do { _ = try SQLiteJobStore(path: path).counts() } catch { errors.append("\(error)") }
            }
            XCTAssertEqual(errors.items, [], "round \(round)")
        }
    }

    func testCancelPauseAndPriority() throws {
        let store = try SQLiteJobStore()
        var low = job(1), high = job(2), running = job(3)
        low.priority = -1
        high.priority = 3
        running.priority = 9
        for j in [low, high, running] { _ = try store.enqueue(j) }
        let first = try XCTUnwrap(try store.claimNext())
        XCTAssertEqual(first.name, "job3", "highest priority first")
        XCTAssertEqual(try store.cancel(first.id!), .running)
        XCTAssertTrue(try store.cancelRequested(first.id!))
        try store.markCancelled(first.id!, results: [JobResult(jobID: 0, kind: .gif, path: "/tmp/p.gif", size: 1)])
        XCTAssertEqual(try store.job(first.id!)?.state, .cancelled)
        XCTAssertEqual(try store.cancel(2), .queued)
        XCTAssertEqual(try store.job(2)?.state, .cancelled)
        XCTAssertNil(try store.cancel(99))
        XCTAssertFalse(try store.isPaused())
        try store.setPaused(true)
        XCTAssertTrue(try store.isPaused())
        try store.setPaused(false)
        XCTAssertEqual(try store.claimNext()?.name, "job1")
        XCTAssertTrue(try store.retry(2), "cancelled jobs can be retried")
        XCTAssertEqual(try store.job(2)?.state, .queued)
        XCTAssertFalse(try store.cancelRequested(2))
    }

    func testFinishRecordsResultsAndTimings() throws {
        let store = try SQLiteJobStore()
        _ = try store.enqueue(job(1))
        let j = try XCTUnwrap(try store.claimNext())
        try store.finish(j.id!, results: [JobResult(jobID: 0, kind: .result, path: "/tmp/r.png", size: 120, index: 1)],
                         timings: ["sample": 1.5])
        let done = try XCTUnwrap(try store.job(j.id!))
        XCTAssertEqual(done.state, .done)
        XCTAssertNotNil(done.duration)
        XCTAssertEqual(try store.results(of: j.id!).map(\.path), ["/tmp/r.png"])
        XCTAssertEqual(try JSONDecoder().decode([String: Double].self, from: Data(done.timings!.utf8)), ["sample": 1.5])
        XCTAssertEqual(try store.counts(), [.done: 1])
    }

    func testCrashRecoveryRequeuesThenGivesUpOnPoisonJobs() throws {
        let store = try SQLiteJobStore()
        _ = try store.enqueue(job(1))
        for attempt in 1...3 {
            let j = try XCTUnwrap(try store.claimNext(), "attempt \(attempt)")
            XCTAssertEqual(j.attempts, attempt)
            // the worker dies here; a restart recovers
            let (requeued, failed) = try store.recoverInterrupted(maxAttempts: 3)
            XCTAssertEqual(requeued.count + failed.count, 1)
            XCTAssertEqual(attempt < 3 ? requeued : failed, [j.id!])
        }
        let poisoned = try XCTUnwrap(try store.jobs().first)
        XCTAssertEqual(poisoned.state, .failed)
        XCTAssertTrue(poisoned.error!.contains("3 times"))
        XCTAssertNotNil(poisoned.finishedAt, "a failed job has ended")
        XCTAssertTrue(try store.retry(poisoned.id!))
        XCTAssertEqual(try store.job(poisoned.id!)?.state, .queued)
        XCTAssertFalse(try store.retry(poisoned.id!), "only failed and cancelled jobs are retried")
        var rejected = job(9)
        rejected.state = .rejected
        let (r, _) = try store.enqueue(rejected)
        XCTAssertFalse(try store.retry(r.id!), "a rejected drop has nothing to run")
    }

    func testMissingResultFilesAreForgotten() throws {
        let store = try SQLiteJobStore()
        _ = try store.enqueue(job(1))
        let j = try XCTUnwrap(try store.claimNext())
        let existing = FileManager.default.temporaryDirectory.appendingPathComponent("exists-\(UUID().uuidString)").path
        _ = FileManager.default.createFile(atPath: existing, contents: Data([1]))
        defer { try? FileManager.default.removeItem(atPath: existing) }
        try store.finish(j.id!, results: [JobResult(jobID: 0, kind: .result, path: existing, size: 1),
                                          JobResult(jobID: 0, kind: .gif, path: "/nonexistent/x.gif", size: 1)], timings: [:])
        XCTAssertEqual(try store.forgetMissingResults(), 1)
        XCTAssertEqual(try store.results(of: j.id!).map(\.path), [existing])
    }
}

/// Items appended from concurrent closures.
final class Collected<T>: @unchecked Sendable {
    // @unchecked: `stored` is only touched while `lock` is held.
    private let lock = NSLock()
    private var stored: [T] = []
    func append(_ item: T) { lock.lock(); stored.append(item); lock.unlock() }
    var items: [T] { lock.lock(); defer { lock.unlock() }; return stored }
}
