import Foundation
import XCTest
import DarkroomTestSupport
@testable import DarkroomStore
import DarkroomJobModel

/// The queue's guarantees, on both engines, each test on fresh databases.
final class JobQueueTests: StoreTestCase {
    func testSameInputsMakeOneJobEvenFromTwoIntakesAtOnce() throws {
        try onEachEngine { e in
            let (first, inserted) = try e.store.enqueue(job(1, hash: "same"))
            let (second, insertedAgain) = try e.store.enqueue(job(2, hash: "same"))
            XCTAssertTrue(inserted, e.name)
            XCTAssertFalse(insertedAgain, e.name)
            XCTAssertEqual(first.id, second.id, e.name)
            // Two intakes (two connections) racing on 50 drops: each drop is queued once.
            let other = try e.open()
            let inserts = Collected<Bool>()
            let mine = e.store
            DispatchQueue.concurrentPerform(iterations: 2) { k in
                let s = k == 0 ? mine : other
                for n in 0..<50 { if let r = try? s.enqueue(testJob(100 + n, hash: "race\(n)")) { inserts.append(r.inserted) } }
            }
            XCTAssertEqual(inserts.items.count, 100, e.name)
            XCTAssertEqual(inserts.items.filter { $0 }.count, 50, e.name)
            XCTAssertEqual(try e.store.jobs().count, 51, e.name)
        }
    }

    func testClaimsTakeTheHighestPriorityOldestFirstOnce() throws {
        try onEachEngine { e in
            for n in 1...3 { _ = try e.store.enqueue(job(n)) }
            _ = try e.store.enqueue(job(4, priority: 5))
            let now = Date()
            let a = try XCTUnwrap(try e.store.claimNext(worker: "w1", lease: 30, preferredModel: nil, now: now), e.name)
            XCTAssertEqual(a.name, "job4", "\(e.name): highest priority first")
            XCTAssertEqual(a.state, .running)
            XCTAssertEqual(a.attempts, 1)
            XCTAssertEqual(a.worker, "w1")
            XCTAssertEqual(a.leaseExpiresAt!.timeIntervalSince(now), 30, accuracy: 0.01, e.name)
            XCTAssertNotNil(a.startedAt)
            XCTAssertEqual(try e.store.claimNext()?.name, "job1", e.name)
            XCTAssertEqual(try e.store.claimNext()?.name, "job2", e.name)
            XCTAssertEqual(try e.store.claimNext()?.name, "job3", e.name)
            XCTAssertNil(try e.store.claimNext(), e.name)
        }
    }

    func testAWorkerPrefersItsLoadedModelButNotOverAHigherPriority() throws {
        try onEachEngine { e in
            _ = try e.store.enqueue(job(1, model: "if"))
            _ = try e.store.enqueue(job(2, model: "fashion"))
            _ = try e.store.enqueue(job(3, model: "if"))
            XCTAssertEqual(try e.store.claimNext(preferredModel: "fashion")?.name, "job2", e.name)
            XCTAssertEqual(try e.store.claimNext(preferredModel: "fashion")?.name, "job1", "\(e.name): none left for the model: oldest")
            _ = try e.store.enqueue(job(4, model: "fashion"))
            _ = try e.store.enqueue(job(5, model: "if", priority: 1))
            XCTAssertEqual(try e.store.claimNext(preferredModel: "fashion")?.name, "job5", "\(e.name): priority before preference")
            XCTAssertEqual(try e.store.claimNext(preferredModel: "fashion")?.name, "job4", e.name)
        }
    }

    func testConcurrentClaimersNeverShareAJob() throws {
        try onEachEngine { e in
            for n in 0..<200 { _ = try e.store.enqueue(job(n)) }
            let other = try e.open()
            let claimed = Collected<Int64>()
            let mine = e.store
            DispatchQueue.concurrentPerform(iterations: 4) { w in
                let s = w % 2 == 0 ? mine : other
                while let j = try? s.claimNext(worker: "w\(w)", lease: 30, preferredModel: nil, now: Date()) { claimed.append(j.id!) }
            }
            XCTAssertEqual(claimed.items.count, 200, e.name)
            XCTAssertEqual(Set(claimed.items).count, 200, e.name)
        }
    }

    func testCancelPauseAndRetry() throws {
        try onEachEngine { e in
            _ = try e.store.enqueue(job(1, priority: -1))
            _ = try e.store.enqueue(job(2, priority: 3))
            _ = try e.store.enqueue(job(3, priority: 9))
            let first = try XCTUnwrap(try e.store.claimNext())
            XCTAssertEqual(try e.store.cancel(first.id!), .running, e.name)
            XCTAssertTrue(try e.store.cancelRequested(first.id!), e.name)
            try e.store.markCancelled(Claim(first), results: [JobResult(jobID: 0, kind: .gif, path: "/tmp/p.gif", size: 1)])
            XCTAssertEqual(try e.store.job(first.id!)?.state, .cancelled, e.name)
            XCTAssertEqual(try e.store.results(of: first.id!).map(\.kind), [.gif], e.name)
            XCTAssertEqual(try e.store.cancel(2), .queued, e.name)
            XCTAssertEqual(try e.store.job(2)?.state, .cancelled, e.name)
            XCTAssertNil(try e.store.cancel(99), e.name)
            XCTAssertFalse(try e.store.isPaused(), e.name)
            try e.store.setPaused(true)
            XCTAssertTrue(try e.open().isPaused(), "\(e.name): a pause reaches every process")
            XCTAssertNil(try e.open().claimNext(), "\(e.name): nothing is claimed while paused")
            try e.store.setPaused(false)
            XCTAssertEqual(try e.store.claimNext()?.name, "job1", e.name)
            XCTAssertTrue(try e.store.retry(2), "\(e.name): cancelled jobs can be retried")
            XCTAssertEqual(try e.store.job(2)?.state, .queued, e.name)
            XCTAssertEqual(try e.store.job(2)?.attempts, 0, e.name)
            XCTAssertFalse(try e.store.retry(2), "\(e.name): only failed and cancelled jobs are retried")
            var rejected = job(9)
            rejected.state = .rejected
            let (r, _) = try e.store.enqueue(rejected)
            XCTAssertFalse(try e.store.retry(r.id!), "\(e.name): a rejected drop has nothing to run")
        }
    }

    func testFinishRecordsResultsFilesAndTimingsAndTheGalleryExportsOnce() throws {
        try onEachEngine { e in
            _ = try e.store.enqueue(job(1))
            let j = try XCTUnwrap(try e.store.claimNext())
            XCTAssertEqual(try e.store.jobsToExport(limit: 10), [], "\(e.name): a running job is not exported")
            let png = Data([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255])
            try e.store.finish(Claim(j), results: [JobResult(jobID: 0, kind: .result, path: "/g/jobs/1/result.png", size: 8, index: 1),
                                                   JobResult(jobID: 0, kind: .gif, path: "/g/jobs/1/progress.gif", size: 3)],
                               files: [png, Data([1, 2, 3])], timings: ["sample": 1.5])
            let done = try XCTUnwrap(try e.store.job(j.id!))
            XCTAssertEqual(done.state, .done, e.name)
            XCTAssertNotNil(done.duration, e.name)
            XCTAssertNil(done.leaseExpiresAt, e.name)
            let results = try e.store.results(of: j.id!)
            XCTAssertEqual(results.map(\.path), ["/g/jobs/1/result.png", "/g/jobs/1/progress.gif"], e.name)
            XCTAssertEqual(results.first?.index, 1, e.name)
            let files = try e.store.resultFiles(of: j.id!)
            XCTAssertEqual(files[results[0].id!], png, e.name)
            XCTAssertEqual(try e.store.thumbnails()[j.id!], "/g/jobs/1/result.png", e.name)
            XCTAssertEqual(done.timings, JobTimings(["sample": 1.5]), e.name)
            XCTAssertEqual(try e.store.counts(), [.done: 1], e.name)
            XCTAssertEqual(try e.store.jobsToExport(limit: 10), [j.id!], e.name)
            try e.store.markExported(j.id!, endedAt: try e.store.job(j.id!)?.finishedAt)
            XCTAssertEqual(try e.store.jobsToExport(limit: 10), [], e.name)
        }
    }

    func testAJobThatEndsAgainWhileItsExportIsInFlightIsExportedAgain() throws {
        try onEachEngine { e in
            let j = try e.store.enqueue(job(1)).job
            let first = try XCTUnwrap(try e.store.claimNext(worker: "w", lease: 30, preferredModel: nil, now: Date()))
            try e.store.fail(Claim(first), error: "boom", now: Date())
            let exportRead = try XCTUnwrap(try e.store.job(j.id!))   // the gallery reads the failed job…
            XCTAssertTrue(try e.store.retry(j.id!), e.name)             // …someone retries it, and it ends again
            let second = try XCTUnwrap(try e.store.claimNext(worker: "w", lease: 30, preferredModel: nil, now: Date().addingTimeInterval(2)))
            try e.store.finish(Claim(second), results: [], files: [], timings: [:], now: Date().addingTimeInterval(3))
            try e.store.markExported(j.id!, endedAt: exportRead.finishedAt)  // the first export completes late
            XCTAssertEqual(try e.store.jobsToExport(limit: 10), [j.id!], "\(e.name): the second end is still to export")
            try e.store.markExported(j.id!, endedAt: try e.store.job(j.id!)?.finishedAt)
            XCTAssertEqual(try e.store.jobsToExport(limit: 10), [], e.name)
        }
    }

    func testInputsAreStoredWithTheJobOrNotAtAll() throws {
        try onEachEngine { e in
            let inputs = [JobFile(role: "image", name: "inputs/cat.png", data: Data([1, 2, 3])),
                          JobFile(role: "sidecar", name: "inputs/cat.json", data: Data("{}".utf8))]
            struct Boom: Error {}
            XCTAssertThrowsError(try e.store.insert(job(1), inputs: inputs) { _ in throw Boom() }, e.name)
            XCTAssertEqual(try e.store.jobs().count, 0, "\(e.name): a failed intake leaves no row")
            let row = try e.store.insert(job(1), inputs: inputs) { row in
                var row = row
                row.image = "inputs/cat.png"
                return row
            }
            XCTAssertEqual(try e.store.job(row.id!)?.image, "inputs/cat.png", e.name)
            XCTAssertEqual(try e.store.inputs(of: row.id!), inputs.sorted { $0.name < $1.name }, e.name)
            XCTAssertEqual(try e.store.job(inputHash: "hash1")?.id, row.id, e.name)
        }
    }

    func testMissingResultFilesAreForgottenUnlessTheDatabaseHoldsThem() throws {
        try onEachEngine { e in
            _ = try e.store.enqueue(job(1))
            let j = try XCTUnwrap(try e.store.claimNext())
            let existing = try temporaryFolder(self).appendingPathComponent("exists").path
            _ = FileManager.default.createFile(atPath: existing, contents: Data([1]))
            try e.store.finish(Claim(j), results: [JobResult(jobID: 0, kind: .result, path: existing, size: 1),
                                                   JobResult(jobID: 0, kind: .gif, path: "/nonexistent/x.gif", size: 1)], timings: [:])
            XCTAssertEqual(try e.store.forgetMissingResults(), 1, e.name)
            XCTAssertEqual(try e.store.results(of: j.id!).map(\.path), [existing], e.name)
        }
    }

    func testPromptEmbeddingsRoundTripAndReplace() throws {
        try onEachEngine { e in
            XCTAssertNil(try e.store.promptEmbedding(encoder: "t5", prompt: "a dog"), e.name)
            let values = (0..<12).map { Float($0) * 0.5 - 2.75 }
            try e.store.savePromptEmbedding(encoder: "t5", prompt: "a dog", StoredEmbedding(shape: [3, 4], values: values))
            XCTAssertEqual(try e.open().promptEmbedding(encoder: "t5", prompt: "a dog"), StoredEmbedding(shape: [3, 4], values: values), e.name)
            XCTAssertNil(try e.store.promptEmbedding(encoder: "other", prompt: "a dog"), e.name)
            try e.store.savePromptEmbedding(encoder: "t5", prompt: "a dog", StoredEmbedding(shape: [2, 2], values: [1, 2, 3, 4]))
            XCTAssertEqual(try e.store.promptEmbedding(encoder: "t5", prompt: "a dog")?.values, [1, 2, 3, 4], e.name)
            try e.store.savePromptEmbedding(encoder: "t5", prompt: "", StoredEmbedding(shape: [1, 2], values: [.pi, -0]))
            XCTAssertEqual(try e.store.promptEmbeddingKeys().map(\.prompt), ["", "a dog"], e.name)
        }
    }

    func testEveryDatabaseHasItsOwnID() throws {
        let (first, second) = (try engines().engines, try engines().engines)
        let ids = try first.map { try $0.store.databaseID() } + second.map { try $0.store.databaseID() }
        XCTAssertEqual(Set(ids).count, first.count + second.count)
    }
}
