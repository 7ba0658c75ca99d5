import Foundation
import DarkroomJobModel
import PostgresNIO

/// One intake per database on PostgreSQL: a session advisory lock, held on a connection of its own while the daemon
/// runs. The server drops it when the process dies or its connection breaks, so a crash never leaves it behind.
public final class PostgresIntakeLock: @unchecked Sendable {
    let connection: PostgresConnection
    static let key: Int64 = 7231990413

    init(connection: PostgresConnection) { self.connection = connection }

    /// True once the lock's connection closed (a server restart, a network cut): the lock is gone with it.
    public var isLost: Bool { connection.isClosed }

    deinit { try? connection.close().wait() }
}

extension PostgresJobStore {
    /// Takes the intake lock, or throws naming the host that holds it.
    public func lockIntake() throws -> PostgresIntakeLock {
        let c = try session.connect()
        let got = try session.run(c, "SELECT pg_try_advisory_lock(\(PostgresIntakeLock.key))").first!.decode(Bool.self)
        guard got else {
            let holder = try? session.run(c, """
                SELECT a.client_addr::text, a.application_name, a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'advisory' AND l.objid = \(Int64(PostgresIntakeLock.key & 0xffff_ffff)) LIMIT 1
                """).first.map { try $0.decode((String?, String?, Int).self) }
            try? c.close().wait()
            let who = holder.map { "from \($0.0 ?? "a local socket"), server pid \($0.2)" } ?? "unknown"
            throw StoreError("another darkroom watch already runs the intake of \(settings.display) (\(who)); stop it first, or use `darkroom worker` on this host")
        }
        return PostgresIntakeLock(connection: c)
    }
}
