import Foundation
import XCTest
import GRDB
import DarkroomJobModel
import DarkroomStore
import DarkroomTestSupport
@testable import DarkroomDaemon

/// A lease whose renewals cannot get through is given up within `lease_seconds`, not after the store's retries
/// (issue 25).
final class LeaseKeeperTests: XCTestCase {
    func testALeaseThatCannotBeRenewedIsLostWithinLeaseSecondsAndOneThatCanHolds() throws {
        let path = try temporaryFolder(self).appendingPathComponent("q.sqlite").path
        // Each renewal waits 0.4 s for the lock, then fails as busy: like a statement retried against a server that is away.
        let store = try SQLiteJobStore(path: path, busyTimeout: 0.4)
        _ = try store.enqueue(Job(name: "j", request: EditRequest(mode: .generate), model: "m", inputHash: "h"))
        let claimedAt = Heartbeat.now()
        let job = try XCTUnwrap(try store.claimNext(worker: "w", lease: 1, preferredModel: nil, now: Date()))
        let keeper = LeaseKeeper(store: store, claim: Claim(job), lease: 1, renewEvery: 0.25, claimedAt: claimedAt)
        keeper.start()
        defer { keeper.stop() }
        Thread.sleep(forTimeInterval: 1.5)
        XCTAssertFalse(keeper.lost, "renewed every 0.25 s, a 1-second lease holds past its first second")

        var config = Configuration()
        config.busyMode = .timeout(2)  // waits out a renewal that holds the write lock this instant
        let other = try DatabaseQueue(path: path, configuration: config)
        var lostAfter: Double?
        try other.inDatabase { db in
            try db.execute(sql: "BEGIN EXCLUSIVE")  // from now on no renewal gets through
            let blocked = Heartbeat.now()
            while Heartbeat.now() - blocked < 5 {
                if keeper.lost { lostAfter = Heartbeat.now() - blocked; break }
                Thread.sleep(forTimeInterval: 0.01)
            }
            try db.execute(sql: "ROLLBACK")
        }
        let after = try XCTUnwrap(lostAfter, "the lease was never given up")
        // The last confirmed renewal was sent at most renewEvery + busy timeout before the block: the lease is given
        // up within lease_seconds of it, so well before another worker could see it expire and take the job.
        XCTAssertLessThanOrEqual(after, 1.0 + 0.05, "lost \(after) s after renewals stopped getting through")
        Thread.sleep(forTimeInterval: 0.6)
        XCTAssertTrue(keeper.lost, "once lost, stays lost, even though renewals get through again")
    }
}
