import Foundation
import DarkroomSupport

/// Where a notice goes (config.json `"notify"`): an HTTP(S) URL, posted as JSON or in ntfy's form, or a command run
/// without a shell; and which ends it is told of (`"on"`, default done and failed).
public struct NotifyTarget: Equatable, Sendable {
    /// How a URL target receives the event.
    public enum Format: String, Sendable, CaseIterable {
        /// A POST of the event as JSON, with an `Idempotency-Key` header.
        case json
        /// ntfy's publish form: the message as body, `Title`, `Tags`, `Click` and `Attach` headers.
        case ntfy
    }

    public enum Destination: Equatable, Sendable {
        case url(URL, Format)
        /// The program and its arguments (`argv`); the event on stdin and as `DARKROOM_*` variables.
        case command([String])
    }

    public var destination: Destination
    public var on: Set<JobState>

    public init(destination: Destination, on: Set<JobState> = NotifyTarget.defaultStates) {
        self.destination = destination
        self.on = on
    }

    public static let defaultStates: Set<JobState> = [.done, .failed]
    /// The states a target may ask for, as config.json spells them.
    public static let states: [JobState] = [.done, .failed, .rejected, .cancelled]

    /// The target's name in the database: a digest of where it delivers (not of `on`), never the URL itself, which
    /// may hold a token.
    public var key: String {
        var h = ContentHash()
        switch destination {
        case .url(let url, let format): h.add("url\u{0}\(url.absoluteString)\u{0}\(format.rawValue)")
        case .command(let argv): h.add("command\u{0}" + argv.joined(separator: "\u{0}"))
        }
        return h.hex
    }

    /// The target as logs and `status --notices` show it: the scheme and host of a URL (no user, password, path or
    /// query, where tokens live), or the program of a command.
    public var label: String {
        switch destination {
        case .url(let url, let format):
            let port = url.port.map { ":\($0)" } ?? ""
            return "\(url.scheme ?? "http")://\(url.host ?? "?")\(port)/… (\(format.rawValue))"
        case .command(let argv):
            return "command \(argv.first ?? "?")"
        }
    }

    /// True for URL targets (they need outbound network).
    public var isURL: Bool { if case .url = destination { return true } else { return false } }

    /// Reads config.json's `"notify"` list; every problem names `notify[N].KEY`. Relative command paths are relative to
    /// the config file's folder (`base`).
    public static func readList(_ raw: Any, path: String, base: URL) throws -> [NotifyTarget] {
        let example = "e.g. [{\"url\": \"https://ntfy.sh/my-topic\", \"format\": \"ntfy\"}, {\"command\": [\"/usr/local/bin/on-done\"]}]"
        guard let list = raw as? [Any], list.count <= 100 else {
            throw JobError(field: "notify", "\(path): must be a list of at most 100 targets, \(example)")
        }
        return try list.enumerated().map { k, value in
            let field = "notify[\(k)]"
            guard let object = value as? [String: Any] else {
                throw JobError(field: field, "\(path): must be an object with \"url\" or \"command\", \(example)")
            }
            return try read(object, field: field, path: path, base: base)
        }
    }

    static func read(_ object: [String: Any], field: String, path: String, base: URL) throws -> NotifyTarget {
        try FieldReader.checkKeys(object, known: ["url", "command", "on", "format"], field: field, in: path)
        let f = FieldReader(object)
        func named(_ error: Error) -> Error {
            guard let e = error as? JobError else { return error }
            return JobError(field: "\(field).\(e.field ?? "")", "\(path): \(e.message)")
        }
        var states = defaultStates
        do {
            if let on = try f.strings("on") {
                guard !on.isEmpty else { throw JobError(field: "on", "must name at least one of done, failed, rejected, cancelled") }
                states = try Set(on.map { name in
                    guard let s = JobState(rawValue: name), NotifyTarget.states.contains(s) else {
                        throw JobError(field: "on", "unknown event '\(JobError.quote(name))' (known: done, failed, rejected, cancelled)")
                    }
                    return s
                })
            }
            let url = try f.string("url"), command = try f.strings("command"), formatName = try f.string("format")
            switch (url, command) {
            case (let url?, nil):
                guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), ["http", "https"].contains(scheme),
                      let host = parsed.host, !host.isEmpty else {
                    throw JobError(field: "url", "must be an http:// or https:// URL with a host")
                }
                let format = try formatName.map { name in
                    guard let f = Format(rawValue: name) else {
                        throw JobError(field: "format", "unknown format '\(JobError.quote(name))' (known: json, ntfy)")
                    }
                    return f
                } ?? .json
                return NotifyTarget(destination: .url(parsed, format), on: states)
            case (nil, let argv?):
                guard let program = argv.first, !program.isEmpty else {
                    throw JobError(field: "command", "must name a program, e.g. [\"/usr/local/bin/on-done\", \"--quiet\"]")
                }
                if formatName != nil { throw JobError(field: "format", "applies to URL targets only (a command gets the event as JSON)") }
                let resolved = program.hasPrefix("/") ? program : base.appendingPathComponent(program).standardized.path
                return NotifyTarget(destination: .command([resolved] + argv.dropFirst()), on: states)
            case (nil, nil):
                throw JobError(field: "url", "a target needs \"url\" or \"command\"")
            case (.some, .some):
                throw JobError(field: "command", "a target has \"url\" or \"command\", not both")
            }
        } catch { throw named(error) }
    }
}
