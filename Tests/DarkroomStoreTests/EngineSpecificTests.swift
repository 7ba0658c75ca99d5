import Foundation
import GRDB
import XCTest
import DarkroomSupport
import DarkroomTestSupport
@testable import DarkroomStore
import DarkroomJobModel

/// What only one engine has: SQLite's file, WAL and racing opens; PostgreSQL's URL, login and connection errors.
final class SQLiteStoreTests: XCTestCase {
    func testTheFileIsInWALModeAndOpeningsRacingOnANewFileAllSucceed() throws {
        let dir = try temporaryFolder(self)
        let path = dir.appendingPathComponent("q.sqlite").path
        let store = try SQLiteJobStore(path: path)
        XCTAssertEqual(try store.writer.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }, "wal")
        for round in 0..<40 {
            let path = dir.appendingPathComponent("new\(round).sqlite").path
            let errors = Collected<String>()
            DispatchQueue.concurrentPerform(iterations: 4) { _ in
                do { _ = try SQLiteJobStore(path: path).counts() } catch { errors.append("\(error)") }
            }
            XCTAssertEqual(errors.items, [], "round \(round)")
        }
    }

    func testSQLiteBusyIOAndFullDiskErrorsAreTransientAndAConstraintIsNot() throws {
        for code in [ResultCode.SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_IOERR, .SQLITE_IOERR_WRITE, .SQLITE_IOERR_FSYNC, .SQLITE_FULL,
                     .SQLITE_CANTOPEN, .SQLITE_READONLY, .SQLITE_NOMEM] {
            XCTAssertTrue(FaultKind.isTransient(DatabaseError(resultCode: code, message: "m")), "\(code)")
        }
        for code in [ResultCode.SQLITE_CONSTRAINT, .SQLITE_CONSTRAINT_UNIQUE, .SQLITE_ERROR, .SQLITE_MISMATCH, .SQLITE_CORRUPT, .SQLITE_NOTADB] {
            XCTAssertFalse(FaultKind.isTransient(DatabaseError(resultCode: code, message: "m")), "\(code)")
        }
        // Whose fault: a busy database is nobody's; a constraint is the input's, the drop's at intake and the job's in a worker.
        XCTAssertEqual(FaultKind.of(DatabaseError(resultCode: .SQLITE_BUSY, message: "m"), in: .drop), .transient)
        XCTAssertEqual(FaultKind.of(DatabaseError(resultCode: .SQLITE_CONSTRAINT, message: "m"), in: .drop), .drop)
        XCTAssertEqual(FaultKind.of(DatabaseError(resultCode: .SQLITE_CONSTRAINT, message: "m"), in: .job), .job)
        // A real one: a second connection holds the file's write lock past the store's busy timeout.
        let path = try temporaryFolder(self).appendingPathComponent("busy.sqlite").path
        let store = try SQLiteJobStore(path: path)
        var config = Configuration()
        config.busyMode = .immediateError
        let other = try DatabaseQueue(path: path, configuration: config)
        let busy = try SQLiteJobStore(path: path, busyTimeout: 0.2)
        try other.inDatabase { db in
            try db.execute(sql: "BEGIN EXCLUSIVE")
            XCTAssertThrowsError(try busy.enqueue(testJob(1))) { XCTAssertTrue(FaultKind.isTransient($0), "\($0)") }
            try db.execute(sql: "ROLLBACK")
        }
        XCTAssertEqual(try store.enqueue(testJob(1)).inserted, true, "taken once the lock is gone")
    }

    func testADatabaseFromANewerDarkroomIsRefused() throws {
        let path = try temporaryFolder(self).appendingPathComponent("q.sqlite").path
        let store = try SQLiteJobStore(path: path)
        try store.writer.write { try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99: from the future')") }
        XCTAssertThrowsError(try SQLiteJobStore(path: path)) { error in
            XCTAssertTrue("\(error)".contains("newer Darkroom"), "\(error)")
        }
    }
}

final class PostgresStoreTests: XCTestCase {
    func testTheURLIsReadAsLibpqReadsItAndThePasswordIsNeverShown() throws {
        let s = try PostgresSettings(url: "postgresql://ann:s%40cret@db.example:6543/queue?sslmode=require", environment: [:], home: "/nonexistent")
        XCTAssertEqual([s.user, s.password, s.host, s.database], ["ann", "s@cret", "db.example", "queue"])
        XCTAssertEqual(s.port, 6543)
        XCTAssertEqual(s.tls, .require)
        XCTAssertFalse(s.display.contains("cret"))
        XCTAssertEqual(PostgresSettings.redact("postgresql://ann:s%40cret@db:1/q"), "postgresql://ann:***@db:1/q")
        let socket = try PostgresSettings(url: "postgresql://ann@/queue?host=/run/postgresql", environment: ["PGPASSWORD": "env"], home: "/nonexistent")
        XCTAssertEqual(socket.socketFolder, "/run/postgresql")
        XCTAssertEqual(socket.password, "env")
        for (bad, why) in [("postgresql://db/queue", "no user"), ("postgresql://ann@db", "no database"),
                           ("postgresql://ann@db/q?sslmode=maybe", "sslmode"), ("postgresql://ann@db/q?bogus=1", "bogus")] {
            XCTAssertThrowsError(try PostgresSettings(url: bad, environment: [:], home: "/nonexistent"), bad) { error in
                XCTAssertTrue("\(error)".contains(why), "\(bad): \(error)")
            }
        }
    }

    func testThePasswordFileIsReadOnlyWhenPrivate() throws {
        let home = try temporaryFolder(self)
        let file = home.appendingPathComponent(".pgpass").path
        try "# comment\nother:5432:*:ann:wrong\ndb.example:*:queue:ann:pa\\:ss\n*:*:*:*:fallback\n".write(toFile: file, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
        let url = "postgresql://ann@db.example:5432/queue"
        XCTAssertEqual(try PostgresSettings(url: url, environment: [:], home: home.path).password, "pa:ss")
        XCTAssertEqual(try PostgresSettings(url: "postgresql://bob@x/y", environment: [:], home: home.path).password, "fallback")
        XCTAssertEqual(try PostgresSettings(url: url, environment: ["PGPASSWORD": "env"], home: home.path).password, "env", "PGPASSWORD first")
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file)
        XCTAssertNil(try PostgresSettings(url: url, environment: [:], home: home.path).password, "a file others can read is ignored, as libpq does")
    }

    func testAnUnreachableServerOrAWrongPasswordIsAClearErrorAtOnce() throws {
        let server = try PostgresTestServer.shared()
        let started = Date()
        XCTAssertThrowsError(try PostgresJobStore(url: "postgresql://darkroom@127.0.0.1:1/postgres")) { error in
            XCTAssertTrue("\(error)".contains("cannot reach postgresql://darkroom@127.0.0.1:1/postgres"), "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 15, "no retry loop at start")
        // Password logins are required from other addresses than 127.0.0.1: the machine's own non-loopback address.
        guard let address = PostgresStoreTests.nonLoopbackAddress() else {
            XCTFail("this machine has no IPv4 address besides 127.0.0.1 to test a password login on")
            return
        }
        let wrong = server.url(database: "postgres", host: address, password: "not-the-password")
        XCTAssertThrowsError(try PostgresJobStore(url: wrong)) { error in
            XCTAssertTrue("\(error)".contains("refused the login"), "\(error)")
            XCTAssertFalse("\(error)".contains("not-the-password"), "the password is never shown: \(error)")
        }
        let db = try server.freshDatabase(prefix: "login")
        let name = URL(string: db)!.lastPathComponent
        XCTAssertEqual(try PostgresJobStore(url: server.url(database: name, host: address, password: "darkroom-test")).counts(), [:])
    }

    func testSSLModeRequireEncryptsTheConnection() throws {
        let url = try PostgresTestServer.shared().freshDatabase(prefix: "tls")
        XCTAssertFalse(try PostgresJobStore(url: url).usesTLS(), "no TLS unless asked for")
        let store = try PostgresJobStore(url: url + "?sslmode=require")
        XCTAssertTrue(try store.usesTLS())
        _ = try store.enqueue(Job(name: "t", mode: "generate", model: "m", prompt: "p", seed: 1, parameters: .edit(EditRequest(mode: .generate)), inputHash: "h", folder: "/f"))
        XCTAssertEqual(try store.claimNext()?.name, "t", "the queue works over TLS")
        // The server's certificate is self-signed: verify-full refuses it.
        XCTAssertThrowsError(try PostgresJobStore(url: url + "?sslmode=verify-full"))
    }

    func testAUnixSocketFolderInTheURLIsUsed() throws {
        let server = try PostgresTestServer.shared()
        let db = URL(string: try server.freshDatabase(prefix: "socket"))!.lastPathComponent
        let store = try PostgresJobStore(url: "postgresql://darkroom@:\(server.port)/\(db)?host=\(server.folder)")
        XCTAssertEqual(store.location, "postgresql://darkroom@[\(server.folder)]:\(server.port)/\(db)")
        _ = try store.enqueue(Job(name: "s", mode: "generate", model: "m", prompt: "p", seed: 1, parameters: .edit(EditRequest(mode: .generate)), inputHash: "h", folder: "/f"))
        XCTAssertEqual(try PostgresJobStore(url: server.url(database: db)).job(inputHash: "h")?.name, "s", "the same database over TCP")
    }

    func testASchemaFromANewerDarkroomIsRefused() throws {
        let url = try PostgresTestServer.shared().freshDatabase(prefix: "newer")
        _ = try PostgresJobStore(url: url)
        try PostgresTestServer.shared().psql("INSERT INTO darkroom_migrations (version, name) VALUES (99, 'from the future')", database: URL(string: url)!.lastPathComponent)
        XCTAssertThrowsError(try PostgresJobStore(url: url)) { error in
            XCTAssertTrue("\(error)".contains("newer Darkroom"), "\(error)")
        }
    }

    /// An IPv4 address of this machine other than loopback, if it has one.
    static func nonLoopbackAddress() -> String? {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return nil }
        defer { freeifaddrs(list) }
        var p = list
        while let entry = p {
            defer { p = entry.pointee.ifa_next }
            guard let addr = entry.pointee.ifa_addr, addr.pointee.sa_family == UInt8(AF_INET) else { continue }
            var host = [CChar](repeating: 0, count: 64)
            getnameinfo(addr, socklen_t(MemoryLayout<sockaddr_in>.size), &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST)
            let text = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if !text.hasPrefix("127.") { return text }
        }
        return nil
    }
}

/// Leases on the server's clock, and claims that survive a lost reply.
final class PostgresLeaseClockTests: XCTestCase {
    /// Returns true once, then false.
    final class Once: @unchecked Sendable {
        // @unchecked: `fired` is touched only while `lock` is held.
        private let lock = NSLock()
        private var fired = false
        func take() -> Bool { lock.withLock { defer { fired = true }; return !fired } }
        var used: Bool { lock.withLock { fired } }
    }

    func testAClaimWhoseReplyWasLostIsHandedOverAtOnceWithOneAttempt() throws {
        let store = try PostgresJobStore(url: try PostgresTestServer.shared().freshDatabase(prefix: "lostreply"))
        _ = try store.enqueue(testJob(1))
        _ = try store.enqueue(testJob(2))
        let once = Once()
        store.loseClaimReply = { once.take() }
        let started = Date()
        let job = try XCTUnwrap(try store.claimNext(worker: "w", lease: 30, preferredModel: nil, now: Date()))
        XCTAssertTrue(once.used, "the first claim's reply was lost")
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "found again at once, not after its lease")
        XCTAssertEqual(job.id, 1)
        XCTAssertEqual(job.attempts, 1)
        XCTAssertEqual(try store.jobs(state: .running).map(\.id), [1], "the committed claim is the one handed over")
        XCTAssertEqual(try store.jobs(state: .queued).map(\.id), [2], "and no second job was taken")
        XCTAssertTrue(try store.renewLease(Claim(job), lease: 30, now: Date()), "the claim holds")
    }

    func testLeasesAreGrantedOnTheServersClockAndTheSkewIsRecorded() throws {
        let store = try PostgresJobStore(url: try PostgresTestServer.shared().freshDatabase(prefix: "clock"))
        _ = try store.enqueue(testJob(1))
        let job = try XCTUnwrap(try store.claimNext(worker: "w", lease: 30, preferredModel: nil, now: Date()))
        let started = try XCTUnwrap(job.startedAt), expires = try XCTUnwrap(job.leaseExpiresAt)
        XCTAssertEqual(expires.timeIntervalSince(started), 30, accuracy: 0.001, "the lease runs from the server's now")
        let skew = try store.measureClockSkew(worker: "w")
        XCTAssertLessThan(abs(skew), 1, "this host and its own server share a clock")
        XCTAssertEqual(try XCTUnwrap(try store.recordedClockSkews()["w"]), skew, accuracy: 0.001)
    }
}
