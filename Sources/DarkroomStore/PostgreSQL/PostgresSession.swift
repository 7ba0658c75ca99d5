import Foundation
import DarkroomJobModel
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import DarkroomSupport

/// Blocking access to one PostgreSQL server for Darkroom's threads: a small pool of connections, transactions, and
/// reconnection with backoff when the server restarts or the network drops.
///
/// Darkroom's daemon and workers are plain threads; each call here runs one query or transaction on a pooled
/// connection and waits for it (never on an event-loop thread).
// @unchecked Sendable: the idle list is guarded by `lock`; connections are used by one caller at a time.
final class PostgresSession: @unchecked Sendable {
    let settings: PostgresSettings
    private let group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    private let lock = NSLock()
    private var idle: [PostgresConnection] = []
    private var opened = 0
    private var lostSince: Date?
    let logger: Logger
    /// How long a call keeps trying to reach the server again before it fails.
    var reconnectWindow: TimeInterval = 120
    /// Told when the server was lost and when it is back (the daemon logs both).
    var onConnectionChange: (@Sendable (String) -> Void)?

    init(settings: PostgresSettings) {
        self.settings = settings
        var logger = Logger(label: "darkroom.postgres")
        logger.logLevel = .critical
        self.logger = logger
    }

    deinit {
        for c in idle { try? c.close().wait() }
    }

    /// A new connection, or an error that says what to do.
    func connect() throws -> PostgresConnection {
        var configuration: PostgresConnection.Configuration
        if let folder = settings.socketFolder {
            configuration = .init(unixSocketPath: (folder as NSString).appendingPathComponent(".s.PGSQL.\(settings.port)"),
                                  username: settings.user, password: settings.password, database: settings.database)
        } else {
            let tls: PostgresConnection.Configuration.TLS
            switch settings.tls {
            case .disable: tls = .disable
            case .require, .verifyFull:
                var t = TLSConfiguration.makeClientConfiguration()
                if settings.tls == .require { t.certificateVerification = .none }
                tls = .require(try NIOSSLContext(configuration: t))
            }
            configuration = .init(host: settings.host, port: settings.port, username: settings.user,
                                  password: settings.password, database: settings.database, tls: tls)
        }
        configuration.options.connectTimeout = .seconds(10)
        let id = lock.withLock { opened += 1; return opened }
        do {
            return try PostgresConnection.connect(on: group.next(), configuration: configuration, id: id, logger: logger).wait()
        } catch {
            throw StoreError(explain(error))
        }
    }

    /// Runs `body` on a pooled connection. A lost connection (server restarted, network cut) is dropped and, when
    /// `retrying`, `body` runs again on a new one, with backoff, for up to `reconnectWindow`.
    func withConnection<T>(retrying: Bool = true, _ body: (PostgresConnection) throws -> T) throws -> T {
        let deadline = Date().addingTimeInterval(reconnectWindow)
        var delay = 0.05
        while true {
            var connection: PostgresConnection?
            do {
                connection = try lock.withLock { idle.popLast() } ?? connect()
                let result = try body(connection!)
                lock.withLock { idle.append(connection!) }
                if let since = lock.withLock({ () -> Date? in defer { lostSince = nil }; return lostSince }) {
                    onConnectionChange?(String(format: "database: connected again to %@ after %.1f s", settings.display, Date().timeIntervalSince(since)))
                }
                return result
            } catch {
                let lost = PostgresSession.isConnectionLoss(error) || connection?.isClosed == true
                if let connection {
                    if lost { _ = try? connection.close().wait() } else { lock.withLock { idle.append(connection) } }
                }
                guard lost, retrying, Date() < deadline else {
                    if error is StoreError || error is ClaimLost { throw error }
                    throw lost ? StoreError(explain(error)) : error
                }
                let first = lock.withLock { () -> Bool in
                    defer { if lostSince == nil { lostSince = Date() } }
                    return lostSince == nil
                }
                if first { onConnectionChange?("database: lost the connection to \(settings.display) (\(explain(error))); reconnecting") }
                Thread.sleep(forTimeInterval: delay)
                delay = min(delay * 2, 2)
            }
        }
    }

    /// Runs one statement and returns its rows.
    func query(_ q: PostgresQuery, retrying: Bool = true) throws -> [PostgresRow] {
        try withConnection(retrying: retrying) { try run($0, q) }
    }

    /// Runs `body` in a transaction (BEGIN … COMMIT; ROLLBACK when it throws). A lost connection retries the whole
    /// transaction when `retrying` (its statements must then be safe to run again).
    func transaction<T>(retrying: Bool = true, _ body: (PostgresConnection) throws -> T) throws -> T {
        try withConnection(retrying: retrying) { c in
            _ = try run(c, "BEGIN")
            do {
                let result = try body(c)
                _ = try run(c, "COMMIT")
                return result
            } catch {
                if !c.isClosed { _ = try? run(c, "ROLLBACK") }
                throw error
            }
        }
    }

    func run(_ c: PostgresConnection, _ q: PostgresQuery) throws -> [PostgresRow] {
        try PostgresSession.wait(for: c.query(q, logger: logger), timeout: statementTimeout, closing: c).rows
    }

    /// The longest a statement may take before its connection is presumed dead (Darkroom's statements take
    /// milliseconds; a connection the server dropped mid-restart can leave a query unanswered forever).
    var statementTimeout: TimeAmount = .seconds(15)

    /// Waits for `future`, or fails after `timeout` and closes `connection`, so that the caller reconnects.
    static func wait<T: Sendable>(for future: EventLoopFuture<T>, timeout: TimeAmount, closing connection: PostgresConnection) throws -> T {
        let loop = future.eventLoop
        let promise = loop.makePromise(of: T.self)
        // Both callbacks run on the connection's event loop, one after the other: the flag needs no lock.
        let once = OnceFlag()
        let timer = loop.scheduleTask(in: timeout) {
            guard !once.done else { return }
            once.done = true
            promise.fail(PostgresSession.StatementTimedOut())
            connection.close().whenComplete { _ in }
        }
        future.whenComplete { result in
            guard !once.done else { return }
            once.done = true
            timer.cancel()
            promise.completeWith(result)
        }
        return try promise.futureResult.wait()
    }

    /// Set by whichever of a statement's answer and its timeout comes first.
    final class OnceFlag: @unchecked Sendable { var done = false }

    /// A statement got no answer within `statementTimeout`; its connection was closed.
    struct StatementTimedOut: TransientError, CustomStringConvertible {
        var description: String { "the server did not answer a statement in time; the connection was closed" }
    }

    /// Errors that mean the connection (not the statement) failed.
    static func isConnectionLoss(_ error: any Error) -> Bool {
        if let e = error as? PSQLError {
            switch e.code {
            case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown: return true
            case .server:
                // 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up), 08xxx connection.
                let state = e.serverInfo?[.sqlState] ?? ""
                return state.hasPrefix("57P") || state.hasPrefix("08")
            default: return false
            }
        }
        if error is ChannelError || error is NIOConnectionError || error is IOError || error is StatementTimedOut { return true }
        if let s = error as? StoreError { return s.description.contains("cannot reach") }
        return false
    }

    /// What went wrong, as a person can act on it, never with the password.
    func explain(_ error: any Error) -> String {
        let server = settings.display
        if let e = error as? PSQLError {
            if let info = e.serverInfo {
                let state = info[.sqlState] ?? ""
                let message = info[.message] ?? "error"
                switch state {
                case "28P01", "28000":
                    return "database: \(server) refused the login: \(message) (check the password in the URL, PGPASSWORD or ~/.pgpass, and pg_hba.conf)"
                case "3D000":
                    return "database: \(server): \(message) (create it with createdb, or fix the name in \"database\")"
                default:
                    return "database: \(server): \(message) [\(state)]"
                }
            }
            switch e.code {
            case .connectionError, .serverClosedConnection, .uncleanShutdown, .clientClosedConnection:
                let detail = e.underlying.map { "\($0)" } ?? "\(e.code)"
                return "database: cannot reach \(server): \(detail) (is PostgreSQL running and listening there?)"
            case .sslUnsupported:
                return "database: \(server) does not offer TLS, which sslmode asks for"
            case .authMechanismRequiresPassword:
                return "database: \(server) asks for a password: give it in the URL, PGPASSWORD or ~/.pgpass"
            default:
                return "database: \(server): \(e.code)"
            }
        }
        if error is ChannelError || error is NIOConnectionError || error is IOError {
            return "database: cannot reach \(server): \(error) (is PostgreSQL running and listening there?)"
        }
        return "database: \(server): \(error)"
    }
}

extension PostgresSession {
    /// Runs a named prepared statement (parsed and planned once per connection, then only bound and executed): the
    /// queue's hot statements, run thousands of times a second, use these.
    func execute<S: PostgresPreparedStatement>(_ statement: S, retrying: Bool = true) throws -> [S.Row] where S.Row: Sendable {
        try withConnection(retrying: retrying) { c in try execute(statement, on: c) }
    }

    /// Runs a named prepared statement on `c` (inside a caller's `withConnection`).
    func execute<S: PostgresPreparedStatement>(_ statement: S, on c: PostgresConnection) throws -> [S.Row] where S.Row: Sendable {
        let logger = self.logger
        let box = PreparedResult<S.Row>()
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                var rows: [S.Row] = []
                for try await row in try await c.execute(statement, logger: logger) { rows.append(row) }
                box.set(.success(rows))
            } catch {
                box.set(.failure(error))
            }
            done.signal()
        }
        let seconds = Double(statementTimeout.nanoseconds) / 1e9
        guard done.wait(timeout: .now() + seconds) == .success else {
            c.close().whenComplete { _ in }
            throw StatementTimedOut()
        }
        return try box.get()
    }
}

/// The outcome of a prepared statement run on a task, handed to the waiting thread.
final class PreparedResult<Row: Sendable>: @unchecked Sendable {
    // @unchecked: written once by the task before it signals, read after the wait.
    private var result: Result<[Row], any Error> = .success([])
    func set(_ r: Result<[Row], any Error>) { result = r }
    func get() throws -> [Row] { try result.get() }
}
