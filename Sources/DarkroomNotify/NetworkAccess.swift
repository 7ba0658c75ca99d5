import Foundation
#if canImport(Glibc)
import Glibc
#endif
import DarkroomJobModel

/// Whether this process may reach a URL target at all: under the package's strict unit (`RestrictAddressFamilies=
/// AF_UNIX`, `PrivateNetwork=yes`) it may not, and `watch` says so at start, naming the drop-in that opens the
/// network, instead of failing every delivery for a day.
public enum NetworkAccess {
    /// The drop-in the package ships for notices (README, "Notices").
    public static let dropIn = "/usr/share/doc/darkroom/examples/darkroom.service.d-notify.conf"

    /// Nil when every URL target can be tried; otherwise what is wrong and what to do.
    public static func problem(for targets: [NotifyTarget]) -> String? {
        let urls = targets.enumerated().compactMap { k, t -> (Int, URL)? in
            if case .url(let url, _) = t.destination { return (k, url) } else { return nil }
        }
        guard let (k, url) = urls.first else { return nil }
        let fix = "install the drop-in that opens outbound connections: sudo install -D -m 0644 \(dropIn) /etc/systemd/system/darkroom.service.d/notify.conf && sudo systemctl daemon-reload && sudo systemctl restart darkroom"
        for family in [AF_INET, AF_INET6] {
            let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
            if fd >= 0 { close(fd); continue }
            let reason = String(cString: strerror(errno))
            if family == AF_INET6 && errno == EAFNOSUPPORT && !isRestricted(AF_INET) { continue }  // a host without IPv6
            return "notify[\(k)]: this process may not open network sockets (\(reason)), so notices to \(url.scheme ?? "http")://\(url.host ?? "?")/… cannot be sent; the service's unit denies the network by default: \(fix)"
        }
        let remote = urls.filter { !isLoopback($0.1.host ?? "") }
        if let (k, url) = remote.first, onlyLoopbackInterfaces() {
            return "notify[\(k)]: this process has no network but loopback (PrivateNetwork=yes?), so notices to \(url.host ?? "?") cannot be sent: \(fix)"
        }
        return nil
    }

    static func isRestricted(_ family: Int32) -> Bool {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        if fd >= 0 { close(fd); return false }
        return true
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "[::1]"
    }

    /// True when every network interface of this process's namespace is a loopback one (a private network namespace;
    /// getifaddrs asks the kernel, where /sys/class/net shows the namespace that mounted /sys).
    static func onlyLoopbackInterfaces() -> Bool {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return false }
        defer { freeifaddrs(list) }
        var any = false, onlyLoopback = true
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            any = true
            if entry.pointee.ifa_flags & UInt32(IFF_LOOPBACK) == 0 { onlyLoopback = false }
            cursor = entry.pointee.ifa_next
        }
        return any && onlyLoopback
    }
}
