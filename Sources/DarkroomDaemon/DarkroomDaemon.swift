// DarkroomDaemon: the inbox watcher, intake, worker and systemd integration behind `darkroom watch`.
import Foundation
import Logging

/// The daemon's log: a swift-log `Logger` labelled "darkroom". Its lines go wherever the process bootstrapped
/// logging; `darkroom` installs `JournaldLogHandler` (stderr, with journald's priority prefixes).
public enum DaemonLog {
    public static let logger = Logger(label: "darkroom")

    public static func debug(_ message: String) { logger.debug("\(message)") }
    public static func info(_ message: String) { logger.info("\(message)") }
    public static func warning(_ message: String) { logger.warning("\(message)") }
    public static func error(_ message: String) { logger.error("\(message)") }
}

/// A swift-log handler that writes one line per message to stderr with a journald priority prefix (`<3>` error,
/// `<4>` warning, `<6>` info, `<7>` debug), which systemd's journal turns into priorities (SyslogLevelPrefix=true).
/// Metadata follows the message as `key=value`.
public struct JournaldLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    let label: String

    public init(label: String, level: Logger.Level = .info) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// The syslog priority journald reads from a line's `<N>` prefix.
    public static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    public func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        let suffix = all.isEmpty ? "" : " " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        FileHandle.standardError.write(Data("<\(JournaldLogHandler.priority(event.level))>\(event.message)\(suffix)\n".utf8))
    }
}
