import Foundation
import XCTest
import GRDB
import DarkroomJobModel
import DarkroomTestSupport
@testable import DarkroomStore

/// Rows written by an earlier Darkroom decode with today's code, and a row whose parameters no longer decode says so
/// (issue 25).
final class StoredRowsTests: StoreTestCase {
    /// A database the released Darkroom wrote (`Fixtures/release-rows.sql`, made by `scripts/make-release-rows.sh`
    /// with that release's binary), opened and migrated by today's store.
    func releasedDatabase() throws -> SQLiteJobStore {
        let path = try temporaryFolder(self).appendingPathComponent("release.sqlite").path
        let sql = try String(contentsOfFile: Fixtures.path("release-rows.sql"), encoding: .utf8)
        let queue = try DatabaseQueue(path: path)
        try queue.writeWithoutTransaction { try $0.execute(sql: sql) }  // the dump holds its own transaction
        return try SQLiteJobStore(path: path)
    }

    func testEveryRowTheReleasedDarkroomWroteDecodesWithItsParametersTimingsAndResults() throws {
        let store = try releasedDatabase()
        let jobs = try store.jobs()
        XCTAssertEqual(jobs.count, 11)
        XCTAssertEqual(try store.counts(), [.done: 8, .rejected: 1, .queued: 1, .cancelled: 1])
        for job in jobs {
            switch (job.state, job.parameters) {
            case (.rejected, .rejection):
                XCTAssertEqual(job.name, "broken")
                XCTAssertTrue(job.error?.contains("unknown mode 'paint'") == true, job.error ?? "")
            case (.rejected, _): XCTFail("job \(job.id!): a rejection reads as \(job.parameters)")
            case (_, .edit(let request)):
                XCTAssertEqual(request.mode.rawValue, job.mode, "job \(job.id!) \(job.name)")
                XCTAssertEqual(Int64(request.seed), job.seed, "job \(job.id!) \(job.name)")
            default: XCTFail("job \(job.id!) \(job.name) (\(job.state)): parameters \(job.parameters)")
            }
            if job.state == .done {
                let timings = try XCTUnwrap(job.timings, "job \(job.id!)")
                XCTAssertNotNil(timings.seconds["sample"], "job \(job.id!): \(timings.json)")
                XCTAssertGreaterThan(timings.total, 0)
                XCTAssertFalse(try store.results(of: job.id!).isEmpty, "job \(job.id!) has its results")
            }
        }
        let modes = Set(jobs.compactMap(\.request?.mode))
        XCTAssertEqual(modes, Set(EditMode.allCases), "the fixture covers every edit mode")
        let sdedit = try XCTUnwrap(jobs.first { $0.name == "sdedit-pullover" }?.request)
        XCTAssertEqual(sdedit.noiseLevels, [1, 3, 5, 7, 10, 20])
        XCTAssertEqual(sdedit.stride, 10)
        XCTAssertEqual(jobs.first { $0.name == "cancelled-early" }?.priority, 2)
        // The release left its queue paused (`watch --paused`); resumed, its queued job is claimed as it was asked.
        XCTAssertTrue(try store.isPaused())
        try store.setPaused(false)
        let claimed = try XCTUnwrap(try store.claimNext(worker: "w", lease: 30, preferredModel: nil, now: Date()))
        XCTAssertEqual(claimed.name, "stays-queued")
        XCTAssertEqual(claimed.request?.seed, 7)
    }

    func testAStoredJobWhoseParametersNoLongerDecodeSaysSoNamingTheKey() throws {
        try onEachEngine { e in
            let (queued, _) = try e.store.enqueue(job(1))
            let id = try XCTUnwrap(queued.id)
            let unknownMode = #"{"mode": "paint", "seed": 1}"#
            switch e.store {
            case let sqlite as SQLiteJobStore:
                try sqlite.writer.write { try $0.execute(sql: "UPDATE jobs SET parameters = ? WHERE id = ?", arguments: [unknownMode, id]) }
            case let postgres as PostgresJobStore:
                _ = try postgres.session.query("UPDATE jobs SET parameters = \(unknownMode) WHERE id = \(id)")
            default: XCTFail("unknown engine \(e.name)")
            }
            let read = try XCTUnwrap(try e.store.job(id), e.name)
            guard case .unreadable(let json, let reason) = read.parameters else {
                return XCTFail("\(e.name): parameters read as \(read.parameters)")
            }
            XCTAssertEqual(json, unknownMode, "\(e.name): the stored text is kept as it was")
            XCTAssertTrue(reason.contains("mode"), "\(e.name): \(reason)")
            XCTAssertNil(read.request, e.name)
            XCTAssertEqual(read.parameters.json, unknownMode, e.name)
            // Listing still works: one unreadable row never hides the others.
            _ = try e.store.enqueue(job(2))
            XCTAssertEqual(try e.store.jobs().count, 2, e.name)
        }
    }
}
