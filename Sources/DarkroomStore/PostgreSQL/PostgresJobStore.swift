import Foundation
import PostgresNIO

/// The job queue on a PostgreSQL server, shared by one intake and any number of workers on any hosts.
///
/// The same schema and state machine as `SQLiteJobStore`; claims take a row with `FOR UPDATE SKIP LOCKED` in one
/// statement; changes are announced with NOTIFY (`StoreTopic`), which `waitForChange` hears through LISTEN.
// @unchecked Sendable: the session and the listener guard their own state.
public final class PostgresJobStore: JobStore, @unchecked Sendable {
    public let engine = StoreEngine.postgresql
    public var location: String { settings.display }
    let settings: PostgresSettings
    let session: PostgresSession
    private lazy var listener = PostgresListener(session: session)
    private let listenerLock = NSLock()

    /// Connects to the server `url` names and brings its schema up to date. Fails at once, saying why, when the server
    /// cannot be reached or refuses the login, or when a newer Darkroom wrote the schema.
    public init(url: String) throws {
        settings = try PostgresSettings(url: url)
        session = PostgresSession(settings: settings)
        // At start a failure is an error to show, not something to wait out: a wrong URL or password never heals.
        session.reconnectWindow = 0
        try migrate()
        session.reconnectWindow = 120
    }

    /// Called with "connection lost" and "connected again" lines (the daemon and workers log them).
    public var onConnectionChange: (@Sendable (String) -> Void)? {
        get { session.onConnectionChange }
        set { session.onConnectionChange = newValue }
    }

    /// How long a call keeps reconnecting before it fails (default 120 s).
    public var reconnectWindow: TimeInterval {
        get { session.reconnectWindow }
        set { session.reconnectWindow = newValue }
    }

    public func databaseID() throws -> String {
        guard let row = try session.query("SELECT value FROM meta WHERE key = 'database_id'").first else {
            throw StoreError("the database has no id (meta table): was it made by a newer Darkroom?")
        }
        return try row.decode(String.self)
    }

    public func isPaused() throws -> Bool {
        try session.query("SELECT value FROM meta WHERE key = 'paused'").first.map { try $0.decode(String.self) } == "1"
    }

    public func setPaused(_ paused: Bool) throws {
        let value = paused ? "1" : "0"
        _ = try session.transaction { c in
            _ = try session.run(c, "INSERT INTO meta (key, value) VALUES ('paused', \(value)) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            if !paused { _ = try session.run(c, "NOTIFY darkroom_queued") }
        }
    }

    public func waitForChange(_ topic: StoreTopic, timeout: TimeInterval) -> Bool {
        listenerLock.withLock { listener.start() }
        return listener.wait(topic, timeout: timeout)
    }

    /// Whether this store's connections are encrypted (what `sslmode` asked for, as the server sees it).
    public func usesTLS() throws -> Bool {
        try session.query("SELECT COALESCE((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)").first!.decode(Bool.self)
    }

    /// Drops every Darkroom table (tests and `bench` start from an empty database).
    public func dropEverything() throws {
        _ = try session.query("DROP TABLE IF EXISTS results, job_inputs, jobs, prompt_embeddings, meta, darkroom_migrations CASCADE")
    }
}

/// A LISTEN connection of its own, reconnecting with backoff, that wakes the threads waiting on a topic.
final class PostgresListener: @unchecked Sendable {
    let session: PostgresSession
    private var semaphores: [StoreTopic: DispatchSemaphore] = [:]
    private var started = false

    init(session: PostgresSession) {
        self.session = session
        for t in StoreTopic.allCases { semaphores[t] = DispatchSemaphore(value: 0) }
    }

    /// Starts the listening thread once.
    func start() {
        guard !started else { return }
        started = true
        let thread = Thread { [self] in
            var delay = 0.1
            while true {
                do {
                    let c = try session.connect()
                    for topic in StoreTopic.allCases {
                        let semaphore = semaphores[topic]!
                        c.addListener(channel: topic.rawValue) { _, _ in semaphore.signal() }
                        _ = try session.run(c, PostgresQuery(unsafeSQL: "LISTEN \(topic.rawValue)"))
                    }
                    delay = 0.1
                    // Whatever happened while no one listened may have queued work: wake everyone once.
                    for s in semaphores.values { s.signal() }
                    try? c.closeFuture.wait()
                } catch {
                    Thread.sleep(forTimeInterval: delay)
                    delay = min(delay * 2, 2)
                }
            }
        }
        thread.name = "darkroom-listen"
        thread.start()
    }

    func wait(_ topic: StoreTopic, timeout: TimeInterval) -> Bool {
        let semaphore = semaphores[topic]!
        let woken = semaphore.wait(timeout: .now() + max(0, timeout)) == .success
        // Several notifications may have piled up; one wake-up covers them.
        while semaphore.wait(timeout: .now()) == .success {}
        return woken
    }
}

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
