import Foundation
import XCTest

/// The PostgreSQL server the tests use: the one `DARKROOM_TEST_POSTGRES_URL` names (with `DARKROOM_TEST_PGDATA`, the
/// folder `scripts/test-postgres.sh start` made, so that tests can restart it), or else a throwaway cluster started
/// once per test process with that script and stopped when the process exits.
///
/// Every test gets a database of its own (`freshDatabase`), so tests never see each other's jobs.
public final class PostgresTestServer: @unchecked Sendable {
    /// URL of the server's `postgres` database, as the role `darkroom` (trusted on 127.0.0.1).
    public let adminURL: String
    /// The cluster's folder (for `restart`).
    public let folder: String
    public let port: Int

    nonisolated(unsafe) private static var started: PostgresTestServer?
    private static let lock = NSLock()

    /// The repository's `scripts/test-postgres.sh`.
    public static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/test-postgres.sh").path
    }

    init(adminURL: String, folder: String) {
        self.adminURL = adminURL
        self.folder = folder
        port = URLComponents(string: adminURL)?.port ?? 5432
    }

    /// True when Debian's PostgreSQL server (initdb, pg_ctl) is installed.
    public static var isInstalled: Bool {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        return versions.contains { FileManager.default.isExecutableFile(atPath: "/usr/lib/postgresql/\($0)/bin/initdb") }
    }

    /// The server, started on first use; XCTSkip, saying why, where PostgreSQL is not installed.
    public static func shared() throws -> PostgresTestServer {
        try lock.withLock {
            if let started { return started }
            let env = ProcessInfo.processInfo.environment
            let server: PostgresTestServer
            if let url = env["DARKROOM_TEST_POSTGRES_URL"], let folder = env["DARKROOM_TEST_PGDATA"] {
                server = PostgresTestServer(adminURL: url, folder: folder)
            } else {
                guard PostgresTestServer.isInstalled else {
                    throw XCTSkip("PostgreSQL's server is not installed (apt-get install postgresql; scripts/setup.sh installs it), and DARKROOM_TEST_POSTGRES_URL names none")
                }
                let folder = FileManager.default.temporaryDirectory.appendingPathComponent("darkroom-pg-\(getpid())").path
                let (status, output) = try run("/bin/bash", [script, "start", folder])
                guard status == 0, let url = output.split(separator: "\n").last.map(String.init), url.hasPrefix("postgresql://") else {
                    throw TestServerError("could not start a test PostgreSQL cluster with \(script): \(output)")
                }
                server = PostgresTestServer(adminURL: url, folder: folder)
                atexit {
                    guard let s = PostgresTestServer.started else { return }
                    _ = try? PostgresTestServer.run("/bin/bash", [PostgresTestServer.script, "stop", s.folder])
                    try? FileManager.default.removeItem(atPath: s.folder)
                }
            }
            started = server
            return server
        }
    }

    /// Creates an empty database and returns its URL (as `darkroom`, over 127.0.0.1).
    public func freshDatabase(prefix: String = "t") throws -> String {
        let name = "\(prefix)_\(UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: ""))"
        try psql("CREATE DATABASE \(name)")
        return url(database: name)
    }

    /// The URL of `database` on this server, optionally from another host with the test password.
    public func url(database: String, host: String = "127.0.0.1", password: String? = nil) -> String {
        "postgresql://darkroom\(password.map { ":" + $0 } ?? "")@\(host):\(port)/\(database)"
    }

    /// Runs SQL as the admin role on the `postgres` database.
    public func psql(_ sql: String, database: String = "postgres") throws {
        let (status, output) = try PostgresTestServer.run("/usr/bin/env", ["psql", url(database: database), "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        guard status == 0 else { throw TestServerError("psql \(sql): \(output)") }
    }

    /// Stops the server (an outage); `up()` starts it again.
    public func stop() throws { try control("stop") }

    /// Starts the server again after `stop()`.
    public func up() throws { try control("up") }

    func control(_ command: String) throws {
        let (status, output) = try PostgresTestServer.run("/bin/bash", [PostgresTestServer.script, command, folder])
        guard status == 0 else { throw TestServerError("test-postgres.sh \(command) failed: \(output)") }
    }

    /// Restarts the server (fast shutdown: every connection is cut).
    public func restart() throws {
        let (status, output) = try PostgresTestServer.run("/bin/bash", [PostgresTestServer.script, "restart", folder])
        guard status == 0 else { throw TestServerError("restart: \(output)") }
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> (Int32, String) {
        // Output goes to a file, not a pipe: the server pg_ctl starts may inherit the pipe and never close it.
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("darkroom-pg-out-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: out) }
        let handle = try FileHandle(forWritingTo: out)
        defer { try? handle.close() }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        p.waitForExit(within: 180)  // pg_ctl itself gives up after 60 s
        return (p.terminationStatus, (try? String(contentsOf: out, encoding: .utf8)) ?? "")
    }
}

public struct TestServerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
