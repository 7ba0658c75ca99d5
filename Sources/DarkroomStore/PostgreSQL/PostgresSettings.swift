import Foundation
import DarkroomJobModel

/// Where a PostgreSQL database is and how to log in, read from a `postgresql://` URL as libpq reads one.
///
/// `postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|require|verify-full&host=/socket/dir]`. The
/// password comes from the URL, else `PGPASSWORD`, else `~/.pgpass` (or `PGPASSFILE`); it is never logged or
/// printed (`redacted`). `host=` in the query names a folder holding the server's Unix socket.
public struct PostgresSettings: Equatable, Sendable {
    public enum TLSMode: String, Sendable {
        /// No TLS (the default, as on a private network or a Unix socket).
        case disable
        /// TLS required, the server's certificate not checked (libpq's `require`).
        case require
        /// TLS with the certificate checked against the system's roots and the host name.
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    /// A folder holding `.s.PGSQL.<port>`, when connecting through a Unix socket.
    public var socketFolder: String?
    public var user: String
    public var password: String?
    public var database: String
    public var tls: TLSMode

    /// True for a `database` value that names a PostgreSQL server rather than an SQLite file.
    public static func isURL(_ database: String) -> Bool {
        database.hasPrefix("postgresql://") || database.hasPrefix("postgres://")
    }

    /// Parses `url`; `environment` and `home` supply `PGPASSWORD`, `PGPASSFILE` and `~/.pgpass`.
    public init(url: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                home: String = NSHomeDirectory()) throws {
        func bad(_ why: String) -> StoreError {
            StoreError("database: \(PostgresSettings.redact(url)) is not a usable PostgreSQL URL: \(why) (expected postgresql://USER@HOST:PORT/DATABASE)")
        }
        guard PostgresSettings.isURL(url), let parts = URLComponents(string: url) else { throw bad("cannot parse it") }
        guard let user = parts.user?.removingPercentEncoding, !user.isEmpty else { throw bad("it names no user") }
        self.user = user
        password = parts.password?.removingPercentEncoding
        let query = Dictionary((parts.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        let known: Set<String> = ["sslmode", "host", "application_name", "connect_timeout"]
        if let unknown = query.keys.sorted().first(where: { !known.contains($0) }) { throw bad("the option '\(unknown)' is not supported") }
        socketFolder = query["host"].flatMap { $0.hasPrefix("/") ? $0 : nil }
        host = parts.host.flatMap { $0.isEmpty ? nil : $0 } ?? (socketFolder == nil ? "localhost" : "")
        port = parts.port ?? 5432
        guard (1...65535).contains(port) else { throw bad("port \(port) is out of range") }
        let path = parts.path.hasPrefix("/") ? String(parts.path.dropFirst()) : parts.path
        database = path.removingPercentEncoding ?? path
        guard !database.isEmpty else { throw bad("it names no database") }
        switch query["sslmode"] ?? "disable" {
        case "disable", "allow", "prefer": tls = .disable
        case "require": tls = .require
        case "verify-full", "verify-ca": tls = .verifyFull
        case let other: throw bad("sslmode '\(other)' is not one of disable, require, verify-full")
        }
        if password == nil { password = environment["PGPASSWORD"] }
        if password == nil {
            let file = environment["PGPASSFILE"] ?? (home as NSString).appendingPathComponent(".pgpass")
            password = PostgresSettings.passwordFile(file, host: socketFolder ?? host, port: port, database: database, user: user)
        }
    }

    /// The password `~/.pgpass` gives: the first line `host:port:database:user:password` that matches (`*` matches
    /// anything; `\:` and `\\` escape). As libpq, the file is ignored unless only its owner can read it.
    static func passwordFile(_ path: String, host: String, port: Int, database: String, user: String) -> String? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let mode = attributes[.posixPermissions] as? Int, mode & 0o077 == 0,
              let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let hosts = host.hasPrefix("/") || host.isEmpty ? [host, "localhost"] : [host]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            var fields: [String] = [], current = "", escaped = false
            for c in line {
                if escaped { current.append(c); escaped = false } else if c == "\\" { escaped = true } else if c == ":" && fields.count < 4 {
                    fields.append(current); current = ""
                } else { current.append(c) }
            }
            fields.append(current)
            guard fields.count == 5 else { continue }
            func matches(_ field: String, _ values: [String]) -> Bool { field == "*" || values.contains(field) }
            if matches(fields[0], hosts), matches(fields[1], [String(port)]), matches(fields[2], [database]), matches(fields[3], [user]) {
                return fields[4]
            }
        }
        return nil
    }

    /// `url` with any password replaced by `***`, for logs and errors.
    public static func redact(_ url: String) -> String {
        guard let at = url.range(of: "@"), let scheme = url.range(of: "://"), scheme.upperBound < at.lowerBound else { return url }
        let credentials = url[scheme.upperBound..<at.lowerBound]
        guard let colon = credentials.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at.lowerBound...])
    }

    /// The server as logs name it: `user@host:port/database` (no password).
    public var display: String {
        "postgresql://\(user)@\(socketFolder.map { "[\($0)]" } ?? host):\(port)/\(database)"
    }
}
