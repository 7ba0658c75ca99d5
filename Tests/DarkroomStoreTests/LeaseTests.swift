import Foundation
import XCTest
import DarkroomTestSupport
@testable import DarkroomStore
import DarkroomJobModel

/// Leases, rescues and fencing, on both engines: a worker that lost its job can never write over the one that has it.
final class LeaseTests: StoreTestCase {
    func testARenewedLeaseHoldsAndAnExpiredOneIsRescued() throws {
        try onEachEngine { e in
            _ = try e.store.enqueue(job(1))
            let t0 = Date()
            let j = try XCTUnwrap(try e.store.claimNext(worker: "w1", lease: 10, preferredModel: nil, now: t0))
            XCTAssertTrue(try e.store.renewLease(Claim(j), lease: 10, now: t0.addingTimeInterval(8)), e.name)
            // At t0 + 15 the renewed lease (until t0 + 18) still holds.
            var rescued = try e.store.rescueExpiredLeases(maxAttempts: 3, now: t0.addingTimeInterval(15))
            XCTAssertEqual(rescued.requeued, [], e.name)
            rescued = try e.store.rescueExpiredLeases(maxAttempts: 3, now: t0.addingTimeInterval(19))
            XCTAssertEqual(rescued.requeued, [j.id!], e.name)
            let back = try XCTUnwrap(try e.store.job(j.id!))
            XCTAssertEqual(back.state, .queued, e.name)
            XCTAssertNil(back.worker, e.name)
            XCTAssertEqual(back.attempts, 1, "\(e.name): the lost attempt counts")
        }
    }

    func testALateWorkerIsRefusedAndWritesNothing() throws {
        try onEachEngine { e in
            _ = try e.store.enqueue(job(1))
            let t0 = Date()
            let late = try XCTUnwrap(try e.store.claimNext(worker: "w1", lease: 5, preferredModel: nil, now: t0))
            // w1 stops (SIGSTOP) past its lease; another process rescues the job and w2 takes it.
            _ = try e.open().rescueExpiredLeases(maxAttempts: 3, now: t0.addingTimeInterval(6))
            let current = try XCTUnwrap(try e.store.claimNext(worker: "w2", lease: 5, preferredModel: nil, now: t0.addingTimeInterval(6)))
            XCTAssertEqual(current.attempts, 2, e.name)
            // w1 wakes up: every report it makes is refused.
            XCTAssertFalse(try e.store.renewLease(Claim(late), lease: 5, now: t0.addingTimeInterval(7)), e.name)
            try e.store.setProgress(Claim(late), JobProgress(stage: "sampling", step: 9, steps: 10, elapsedSeconds: 1), preview: Data([9]))
            XCTAssertNil(try e.store.job(1)?.progress, "\(e.name): a late worker's progress is dropped")
            let result = JobResult(jobID: 0, kind: .result, path: "/g/jobs/1/result.png", size: 1, index: 1)
            XCTAssertThrowsError(try e.store.finish(Claim(late), results: [result], files: [Data([1])], timings: [:]), e.name) { error in
                XCTAssertTrue(error is ClaimLost, "\(e.name): \(error)")
            }
            XCTAssertThrowsError(try e.store.fail(Claim(late), error: "late"), e.name) { XCTAssertTrue($0 is ClaimLost) }
            XCTAssertThrowsError(try e.store.markCancelled(Claim(late), results: []), e.name) { XCTAssertTrue($0 is ClaimLost) }
            XCTAssertFalse(try e.store.requeue(Claim(late)), "\(e.name): the late claim is told it holds nothing")
            XCTAssertEqual(try e.store.job(1)?.state, .running, "\(e.name): a late requeue changes nothing")
            XCTAssertEqual(try e.store.results(of: 1), [], e.name)
            // The current holder finishes; the late one still cannot overwrite it afterwards.
            try e.store.finish(Claim(current), results: [result], files: [Data([2])], timings: ["sample": 1])
            XCTAssertThrowsError(try e.store.finish(Claim(late), results: [result], files: [Data([1])], timings: [:]), e.name)
            let done = try XCTUnwrap(try e.store.job(1))
            XCTAssertEqual(done.state, .done, e.name)
            XCTAssertEqual(done.worker, "w2", e.name)
            XCTAssertEqual(done.attempts, 2, e.name)
            let rows = try e.store.results(of: 1)
            XCTAssertEqual(rows.count, 1, e.name)
            XCTAssertEqual(try e.store.resultFiles(of: 1)[rows[0].id!], Data([2]), "\(e.name): written once, by the holder")
        }
    }

    func testAJobThatKeepsKillingWorkersFailsAndACancelledOneEndsCancelled() throws {
        try onEachEngine { e in
            _ = try e.store.enqueue(job(1))
            var t = Date()
            for attempt in 1...3 {
                let j = try XCTUnwrap(try e.store.claimNext(worker: "w\(attempt)", lease: 5, preferredModel: nil, now: t), "\(e.name) attempt \(attempt)")
                XCTAssertEqual(j.attempts, attempt, e.name)
                t = t.addingTimeInterval(6)  // the worker dies; its lease runs out
                let (requeued, failed) = try e.store.rescueExpiredLeases(maxAttempts: 3, now: t)
                XCTAssertEqual(attempt < 3 ? requeued : failed, [j.id!], e.name)
            }
            let poisoned = try XCTUnwrap(try e.store.job(1))
            XCTAssertEqual(poisoned.state, .failed, e.name)
            XCTAssertTrue(poisoned.error!.contains("3 times"), e.name)
            XCTAssertNotNil(poisoned.finishedAt, e.name)
            XCTAssertEqual(try e.store.jobsToExport(limit: 5), [1], "\(e.name): the gallery shows the failure")

            _ = try e.store.enqueue(job(2))
            let j = try XCTUnwrap(try e.store.claimNext(worker: "w", lease: 5, preferredModel: nil, now: t))
            _ = try e.store.cancel(j.id!)
            _ = try e.store.rescueExpiredLeases(maxAttempts: 3, now: t.addingTimeInterval(6))
            XCTAssertEqual(try e.store.job(j.id!)?.state, .cancelled, "\(e.name): a cancel asked of a dead worker's job is kept")
        }
    }

    func testARestartedDaemonRecoversWhatItsOwnWorkerHeldWhateverTheLease() throws {
        try onEachEngine { e in
            for n in 1...3 { _ = try e.store.enqueue(job(n)) }
            let mine = try XCTUnwrap(try e.store.claimNext(worker: "host/watch", lease: 3600, preferredModel: nil, now: Date()))
            let theirs = try XCTUnwrap(try e.store.claimNext(worker: "other/12/ab", lease: 3600, preferredModel: nil, now: Date()))
            let (requeued, failed) = try e.store.recoverJobs(of: "host/watch", maxAttempts: 3, now: Date())
            XCTAssertEqual(requeued, [mine.id!], e.name)
            XCTAssertEqual(failed, [], e.name)
            XCTAssertEqual(try e.store.job(theirs.id!)?.state, .running, "\(e.name): another live worker's job is left alone")
        }
    }

    func testACleanStopReturnsTheJobWithoutCountingTheAttempt() throws {
        try onEachEngine { e in
            _ = try e.store.enqueue(job(1))
            let j = try XCTUnwrap(try e.store.claimNext())
            XCTAssertTrue(try e.store.requeue(Claim(j)), e.name)
            let back = try XCTUnwrap(try e.store.job(1))
            XCTAssertEqual(back.state, .queued, e.name)
            XCTAssertEqual(back.attempts, 0, e.name)
            XCTAssertEqual(try e.store.claimNext()?.attempts, 1, e.name)
        }
    }

    func testProgressAndPreviewAreReadableWhileRunning() throws {
        try onEachEngine { e in
            _ = try e.store.enqueue(job(1))
            let j = try XCTUnwrap(try e.store.claimNext())
            let p = JobProgress(stage: "sampling", label: "sample", step: 3, steps: 10, elapsedSeconds: 1.5, etaSeconds: 3.5, preview: "preview.png")
            try e.store.setProgress(Claim(j), p, preview: Data([7, 7]))
            XCTAssertEqual(try e.open().job(1)?.progress, p, e.name)
            XCTAssertEqual(try e.store.preview(of: 1), Data([7, 7]), e.name)
            try e.store.setProgress(Claim(j), p, preview: nil)
            XCTAssertEqual(try e.store.preview(of: 1), Data([7, 7]), "\(e.name): a report without a new preview keeps the last")
        }
    }
}
