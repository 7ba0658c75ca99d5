import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// sd_notify: datagrams to `$NOTIFY_SOCKET` (a path, or the abstract namespace when it starts with '@').
public struct SystemdNotifier: Sendable {
    private let address: String?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        address = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Sends `state` ("READY=1", "STATUS=…", "WATCHDOG=1", "STOPPING=1"); silently does nothing outside systemd.
    @discardableResult
    public func send(_ state: String) -> Bool {
        guard let address else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        var path = Array(address.utf8)
        if path.first == UInt8(ascii: "@") { path[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard path.count < capacity else { return false }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.enumerated() { raw[i] = b }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count)
        let sent = state.withCString { text in
            withUnsafePointer(to: &addr) { p in
                // Never waits: with the receiver's queue full (a busy or stopped systemd, a test that stopped reading) a
                // blocking send would hang the daemon, SIGTERM included. A message dropped then is harmless.
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, text, strlen(text), Int32(MSG_DONTWAIT | MSG_NOSIGNAL), $0, length) }
            }
        }
        return sent >= 0
    }

    /// The watchdog interval systemd asked for (`$WATCHDOG_USEC`), if any.
    public static func watchdogInterval(environment: [String: String] = ProcessInfo.processInfo.environment) -> Double? {
        environment["WATCHDOG_USEC"].flatMap(Double.init).map { $0 / 1e6 }
    }
}
