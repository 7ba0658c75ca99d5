import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Linux inotify on the inbox folder: completed writes, renames into it, and creations (for hard links).
public final class InboxWatcher {
    /// What happened to a name in the inbox.
    public enum Event: Equatable {
        /// Closed after writing, or renamed into the inbox: the file is complete.
        case complete(String)
        /// Created (maybe still being written, or a hard link): settle before use.
        case created(String)
        /// The kernel dropped events: rescan everything.
        case overflow
    }

    private let fd: Int32
    private let watch: Int32

    /// Starts watching `folder` (before the first scan, so that nothing falls between scan and watch).
    public init(folder: String) throws {
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw JobFolderError("inotify_init1: \(String(cString: strerror(errno)))") }
        let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE)
        watch = inotify_add_watch(fd, folder, mask)
        guard watch >= 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw JobFolderError("cannot watch \(folder): \(reason)")
        }
    }

    deinit { close(fd) }

    /// Waits up to `timeout` seconds for events and returns them (empty on timeout).
    public func next(timeout: Double) -> [Event] {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&pfd, 1, Int32(timeout * 1000))
        guard ready > 0 else { return [] }
        var events: [Event] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            var offset = 0
            while offset < n {
                let (mask, length, name): (UInt32, Int, String) = buffer.withUnsafeBytes { raw in
                    let base = raw.baseAddress! + offset
                    let mask = base.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
                    let len = Int(base.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
                    let nameBytes = UnsafeRawBufferPointer(start: base + 16, count: len)
                    return (mask, len, String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self))
                }
                if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                    events.append(.overflow)
                } else if mask & UInt32(IN_CLOSE_WRITE | IN_MOVED_TO) != 0 {
                    events.append(.complete(name))
                } else if mask & UInt32(IN_CREATE) != 0 {
                    events.append(.created(name))
                }
                offset += 16 + length
            }
        }
        return events
    }
}

/// A problem with the daemon's folders or the kernel interfaces it uses.
public struct JobFolderError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
