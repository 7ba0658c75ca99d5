// DarkroomDaemon: the inbox watcher, intake, worker and systemd integration behind `darkroom watch`.
import Foundation

/// Log lines on stderr with journald priority prefixes (<3> error, <4> warning, <6> info).
public enum DaemonLog {
    nonisolated(unsafe) public static var quiet = false

    public static func info(_ message: String) { write(6, message) }
    public static func warning(_ message: String) { write(4, message) }
    public static func error(_ message: String) { write(3, message) }

    static func write(_ priority: Int, _ message: String) {
        if quiet && priority > 4 { return }
        FileHandle.standardError.write("<\(priority)>\(message)\n".data(using: .utf8)!)
    }
}
