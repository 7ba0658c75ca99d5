import Foundation
import XCTest
import DarkroomTestSupport
@testable import DarkroomStore
import DarkroomJobModel

/// The notices outbox, on both engines: the database writes a notice in the transaction that ends a job, and the
/// sender's bookkeeping (fan-out, attempts, giving up) survives a second connection, as it survives a restart.
final class NoticeOutboxTests: StoreTestCase {
    let everything = Set(Notice.states)

    func testEveryWayAJobEndsWritesOneNoticeWithAStableEventID() throws {
        try onEachEngine { e in
            _ = try e.store.enqueue(job(1))
            _ = try e.store.enqueue(job(2))
            _ = try e.store.enqueue(job(3))
            XCTAssertEqual(try e.store.notices(of: 1), [], "\(e.name): a queued job has no notice")
            let first = try XCTUnwrap(try e.store.claimNext(), e.name)
            XCTAssertEqual(try e.store.notices(of: first.id!), [], "\(e.name): a running job has no notice")
            try e.store.finish(Claim(first), results: [], timings: ["total": 1])
            let second = try XCTUnwrap(try e.store.claimNext(), e.name)
            try e.store.fail(Claim(second), error: "out of memory")
            XCTAssertEqual(try e.store.cancel(3), .queued, e.name)
            var rejected = testJob(4, hash: "hash4")
            rejected.state = .rejected
            rejected.error = "bad sidecar"
            _ = try e.store.enqueue(rejected)

            let done = try e.store.notices(of: 1)
            XCTAssertEqual(done.map(\.state), [.done], e.name)
            XCTAssertEqual(done.first?.event, "job.done", e.name)
            XCTAssertEqual(try e.store.notices(of: 2).map(\.state), [.failed], e.name)
            XCTAssertEqual(try e.store.notices(of: 2).first?.error, "out of memory", e.name)
            XCTAssertEqual(try e.store.notices(of: 3).map(\.state), [.cancelled], e.name)
            XCTAssertEqual(try e.store.notices(of: 4).map(\.state), [.rejected], "\(e.name): rejected at intake")
            XCTAssertEqual(try e.store.notices(of: 4).first?.error, "bad sidecar", e.name)
            // A retried job that ends again is a second event with its own id; the first keeps its own.
            XCTAssertTrue(try e.store.retry(2), e.name)
            let again = try XCTUnwrap(try e.store.claimNext(), e.name)
            try e.store.finish(Claim(again), results: [], timings: [:])
            let twice = try e.store.notices(of: 2)
            XCTAssertEqual(twice.map(\.state), [.failed, .done], e.name)
            XCTAssertNotEqual(twice[0].eventID, twice[1].eventID, e.name)
            XCTAssertEqual(twice[0].eventID.count, 32, e.name)
            XCTAssertEqual(try e.open().notices(of: 1), done, "\(e.name): another connection reads the same event id")
        }
    }

    func testANoticeIsFannedOutOncePerTargetThatWantsItsState() throws {
        try onEachEngine { e in
            _ = try e.store.enqueue(job(1))
            _ = try e.store.enqueue(job(2))
            let a = try XCTUnwrap(try e.store.claimNext(), e.name)
            try e.store.finish(Claim(a), results: [], timings: [:])
            let b = try XCTUnwrap(try e.store.claimNext(), e.name)
            try e.store.fail(Claim(b), error: "boom")
            let now = Date()
            let subs = [NoticeSubscription(target: "all", states: everything), NoticeSubscription(target: "done-only", states: [.done])]
            XCTAssertEqual(try e.store.fanOutNotices(to: subs, now: now), 3, e.name)
            XCTAssertEqual(try e.open().fanOutNotices(to: subs, now: now), 0, "\(e.name): fanned out once, whoever looks again")
            let due = try e.store.dueDeliveries(now: now, limit: 10)
            XCTAssertEqual(due.map { "\($0.notice.jobID) \($0.delivery.target)" }, ["1 all", "1 done-only", "2 all"], e.name)
            XCTAssertEqual(Set(due.map(\.delivery.status)), [.pending], e.name)
            XCTAssertEqual(try e.store.dueDeliveries(now: now.addingTimeInterval(-1), limit: 10).count, 0, "\(e.name): not due before now")
            // Notices that no target wants are settled with no delivery, so a target added later is not flooded.
            _ = try e.store.enqueue(job(3))
            XCTAssertEqual(try e.store.cancel(3), .queued, e.name)
            XCTAssertEqual(try e.store.fanOutNotices(to: [], now: now), 0, e.name)
            XCTAssertEqual(try e.store.fanOutNotices(to: subs, now: now), 0, e.name)
        }
    }

    func testAttemptsAreRecordedUntilDeliveredOrGivenUp() throws {
        try onEachEngine { e in
            for n in 1...2 {
                _ = try e.store.enqueue(job(n))
                let j = try XCTUnwrap(try e.store.claimNext(), e.name)
                try e.store.finish(Claim(j), results: [], timings: [:])
            }
            let now = Date()
            _ = try e.store.fanOutNotices(to: [NoticeSubscription(target: "t", states: everything)], now: now)
            let n1 = try e.store.notices(of: 1)[0].id, n2 = try e.store.notices(of: 2)[0].id
            try e.store.recordDelivery(notice: n1, target: "t", .failed(error: "HTTP 503", retryAt: now.addingTimeInterval(20)), now: now)
            try e.store.recordDelivery(notice: n2, target: "t", .delivered, now: now)
            XCTAssertEqual(try e.store.dueDeliveries(now: now, limit: 10).count, 0, "\(e.name): one waits for its retry, one is delivered")
            let later = try e.store.dueDeliveries(now: now.addingTimeInterval(21), limit: 10)
            XCTAssertEqual(later.map(\.notice.id), [n1], e.name)
            XCTAssertEqual(later.first?.delivery.attempts, 1, e.name)
            XCTAssertEqual(later.first?.delivery.lastError, "HTTP 503", e.name)
            try e.store.recordDelivery(notice: n1, target: "t", .failed(error: "timed out", retryAt: nil), now: now)
            let open = try e.open().deliveries(includeDelivered: false, limit: 10)
            XCTAssertEqual(open.map { "\($0.notice.jobID) \($0.delivery.status) \($0.delivery.attempts)" }, ["1 failed 2"], e.name)
            XCTAssertNil(open.first?.delivery.nextAttemptAt, e.name)
            let all = try e.store.deliveries(includeDelivered: true, limit: 10)
            XCTAssertEqual(all.map(\.delivery.status), [.delivered, .failed], "\(e.name): newest first")
            XCTAssertNotNil(all.first?.delivery.deliveredAt, e.name)
            XCTAssertEqual(try e.store.dueDeliveries(now: now.addingTimeInterval(1e6), limit: 10).count, 0, "\(e.name): given up")
        }
    }
}
