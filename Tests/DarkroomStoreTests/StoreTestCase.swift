import Foundation
import XCTest
import DarkroomTestSupport
@testable import DarkroomStore
import DarkroomJobModel

/// One suite, two engines: every test of a `StoreTestCase` runs its body on a fresh SQLite database and on a fresh
/// PostgreSQL database, and each assertion names the engine.
class StoreTestCase: XCTestCase {
    /// A fresh database on one engine, and a way to open a second connection to it (another process, in effect).
    struct Engine: Sendable {
        var name: String
        var store: any JobStore
        var open: @Sendable () throws -> any JobStore
    }

    /// A fresh SQLite file and a fresh PostgreSQL database (nil, with the reason, where PostgreSQL is not installed).
    func engines() throws -> (engines: [Engine], skippedPostgres: XCTSkip?) {
        let dir = try temporaryFolder(self)
        let path = dir.appendingPathComponent("q.sqlite").path
        var engines = [Engine(name: "sqlite", store: try SQLiteJobStore(path: path), open: { try SQLiteJobStore(path: path) })]
        do {
            let url = try PostgresTestServer.shared().freshDatabase(prefix: "store")
            engines.append(Engine(name: "postgresql", store: try PostgresJobStore(url: url), open: { try PostgresJobStore(url: url) }))
        } catch let skip as XCTSkip {
            return (engines, skip)
        }
        return (engines, nil)
    }

    /// Runs `body` once per engine; where PostgreSQL is missing, on SQLite, and then the test is marked skipped
    /// saying so (never passed as if both had run).
    func onEachEngine(_ body: (Engine) throws -> Void) throws {
        let (engines, skipped) = try engines()
        for engine in engines {
            do { try body(engine) } catch { XCTFail("\(engine.name): \(error)"); throw error }
        }
        if let skipped { throw XCTSkip("ran on SQLite only: \(skipped.message ?? "PostgreSQL unavailable")") }
    }

    func job(_ n: Int, hash: String? = nil, model: String = "fashion", priority: Int = 0) -> Job {
        testJob(n, hash: hash, model: model, priority: priority)
    }
}

/// A queued generate job numbered `n` (hash `hash<n>` unless given).
func testJob(_ n: Int, hash: String? = nil, model: String = "fashion", priority: Int = 0) -> Job {
        var j = Job(name: "job\(n)", mode: "generate", model: model, prompt: "a bag", seed: Int64(n),
                    parameters: .edit(EditRequest(mode: .generate)), inputHash: hash ?? "hash\(n)", folder: "/srv/gallery/jobs/\(n)")
        j.priority = priority
        return j
}
