import Foundation
import DarkroomJobModel
import DarkroomSupport
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
        session.reconnectWindow = TestHooks.reconnectSeconds ?? 120
        if TestHooks.lostClaimReplies > 0 {
            let left = LostReplies(TestHooks.lostClaimReplies)
            loseClaimReply = { left.take() }
        }
    }

    /// Called with "connection lost" and "connected again" lines (the daemon and workers log them).
    public var onConnectionChange: (@Sendable (String) -> Void)? {
        get { session.onConnectionChange }
        set { session.onConnectionChange = newValue }
    }

    /// A test hook: when it returns true, a claim's reply is lost as a dropped connection loses it (the statement
    /// committed, then the connection closes before the job is handed over).
    public var loseClaimReply: (@Sendable () -> Bool)?

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

/// How many more claims lose their reply (`DARKROOM_TEST_LOSE_CLAIM_REPLIES`).
// @unchecked Sendable: `left` is only touched while `lock` is held.
final class LostReplies: @unchecked Sendable {
    private let lock = NSLock()
    private var left: Int
    init(_ count: Int) { left = count }
    func take() -> Bool { lock.withLock { defer { left = max(0, left - 1) }; return left > 0 } }
}
