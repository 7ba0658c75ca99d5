import Foundation
import XCTest
import DarkroomTestSupport
@testable import DarkroomStore
import DarkroomJobModel

/// What retention may remove, on both engines: ended jobs past the days or beyond the newest `max_jobs`, never a
/// queued or running one, never a starred one unless `keep_starred` is false.
final class RetentionStoreTests: StoreTestCase {
    let now = Date()
    var daysAgo40: Date { now.addingTimeInterval(-40 * 86_400) }

    /// Jobs 1–7: 1 failed 40 days ago, 2 rejected 40 days ago, 3 cancelled 40 days ago and starred, 4 running and 5
    /// queued since 40 days ago, 6 done now, 7 failed now.
    func fill(_ store: any JobStore) throws {
        for n in 1...7 {
            var j = job(n, priority: n >= 6 ? 1 : 0)
            if n <= 5 { j.createdAt = daysAgo40 }
            _ = try store.enqueue(j)
        }
        try store.fail(1, error: "boom", state: .failed, now: daysAgo40)
        try store.fail(2, error: "bad sidecar", state: .rejected, now: daysAgo40)
        try store.fail(3, error: "cancelled", state: .cancelled, now: daysAgo40)
        XCTAssertTrue(try store.setStarred(3, true))
        let six = try XCTUnwrap(try store.claimNext())
        try store.finish(Claim(six), results: [], timings: [:])
        let seven = try XCTUnwrap(try store.claimNext())
        try store.fail(Claim(seven), error: "oops")
        XCTAssertEqual(try store.claimNext()?.id, 4)
    }

    func testDaysRemoveOnlyEndedUnstarredJobsPastTheCutoff() throws {
        try onEachEngine { e in
            try fill(e.store)
            XCTAssertEqual(try e.store.job(4)?.state, .running, e.name)
            XCTAssertEqual(try e.store.job(5)?.state, .queued, e.name)
            let past = try e.store.jobsPastRetention(RetentionPolicy(days: 30), now: now)
            XCTAssertEqual(past.map(\.id), [1, 2], "\(e.name): the starred, running and queued jobs and the recent ones stay")
            let all = try e.store.jobsPastRetention(RetentionPolicy(days: 30, keepStarred: false), now: now)
            XCTAssertEqual(all.map(\.id), [1, 2, 3], "\(e.name): keep_starred false")
            XCTAssertEqual(try e.store.jobsPastRetention(RetentionPolicy(days: 50), now: now).map(\.id), [], e.name)
            XCTAssertEqual(try e.store.jobsPastRetention(RetentionPolicy(), now: now).map(\.id), [], "\(e.name): no policy, nothing")
        }
    }

    func testMaxJobsKeepsTheNewestAndRemovesOlderEndedOnes() throws {
        try onEachEngine { e in
            try fill(e.store)
            XCTAssertEqual(try e.store.jobsPastRetention(RetentionPolicy(maxJobs: 2), now: now).map(\.id), [1, 2],
                           "\(e.name): the newest two (6, 7) stay, and 3 (starred), 4 (running) and 5 (queued) whatever their age")
            XCTAssertEqual(try e.store.jobsPastRetention(RetentionPolicy(maxJobs: 7), now: now).map(\.id), [], e.name)
            XCTAssertEqual(try e.store.jobsPastRetention(RetentionPolicy(maxJobs: 100), now: now).map(\.id), [], e.name)
        }
    }

    func testDeletingTakesTheJobsRowsAndNeverOneThatIsNoLongerEnded() throws {
        try onEachEngine { e in
            try fill(e.store)
            XCTAssertTrue(try e.store.retry(1), "\(e.name): job 1 queued again after it was chosen")
            let deleted = try e.store.deleteEndedJobs([1, 2, 3, 4, 5], keepStarred: true)
            XCTAssertEqual(deleted, [2], "\(e.name): 1 is queued again, 3 starred, 4 running, 5 queued")
            XCTAssertNil(try e.store.job(2), e.name)
            XCTAssertEqual(try e.store.notices(of: 2), [], "\(e.name): its notices went with it")
            XCTAssertEqual(try e.store.deleteEndedJobs([3], keepStarred: false), [3], e.name)
            XCTAssertFalse(try e.store.setStarred(99, true), "\(e.name): no such job")
            XCTAssertTrue(try e.store.setStarred(6, true), e.name)
            XCTAssertEqual(try e.open().job(6)?.starred, true, e.name)
            XCTAssertTrue(try e.store.setStarred(6, false), e.name)
            XCTAssertEqual(try e.store.job(6)?.starred, false, e.name)
        }
    }
}
