import Foundation
import XCTest

/// systemd's notify socket, played by a test: a datagram socket in a folder, read on a thread, every message kept
/// with the (monotonic) time it arrived.
final class NotifySocket: @unchecked Sendable {
    // @unchecked: `received` and `open` are touched only while `lock` is held; `fd` is set once.
    let path: String
    private let fd: Int32
    private let lock = NSLock()
    private var received: [(time: Double, message: String)] = []
    private var open = true
    private let finished = DispatchSemaphore(value: 0)

    init(in folder: URL) throws {
        path = folder.appendingPathComponent("notify-\(UUID().uuidString.prefix(6)).sock").path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard fd >= 0, bound == 0 else { throw CocoaError(.fileWriteUnknown) }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while lock.withLock({ open }) {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n > 0 {
                    let message = String(decoding: buffer.prefix(n), as: UTF8.self)
                    lock.withLock { received.append((NotifySocket.now(), message)) }
                }
            }
            finished.signal()
        }.start()
    }

    deinit {
        lock.withLock { open = false }
        finished.wait()
        close(fd)
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// The environment that makes a process talk to this socket, with a watchdog of `watchdog` seconds.
    func environment(watchdog: Double) -> [String: String] {
        ["NOTIFY_SOCKET": path, "WATCHDOG_USEC": String(Int(watchdog * 1e6))]
    }

    /// Arrival times of every WATCHDOG=1 so far.
    var watchdogTimes: [Double] { lock.withLock { received.filter { $0.message == "WATCHDOG=1" }.map(\.time) } }

    /// The longest silence of the watchdog between `from` and `to` (monotonic), counting both ends.
    func longestWatchdogGap(from: Double, to: Double) -> Double {
        let times = [from] + watchdogTimes.filter { $0 > from && $0 < to } + [to]
        return zip(times, times.dropFirst()).map { $1 - $0 }.max() ?? (to - from)
    }
}
