import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Linux inotify on the inbox folder and the preset folders below it: completed writes, renames into them, and
/// creations (for hard links, and new sub-folders).
///
/// Events name what they touched relative to the inbox (`a.json`, `ladder/phone/b.png`): the keys intake uses.
public final class InboxWatcher {
    /// What happened to a name in a watched folder.
    public enum Event: Equatable {
        /// Closed after writing, or renamed into the folder: the file is complete.
        case complete(String)
        /// Created (maybe still being written, a hard link, or a new folder): settle before use.
        case created(String)
        /// The kernel dropped events: rescan everything.
        case overflow
    }

    private let fd: Int32
    /// Each watch's folder relative to the inbox ("" for the inbox itself).
    private var folders: [Int32: String] = [:]
    /// The watch of each folder below the inbox, by device and inode (a folder replaced under the same name is a new
    /// one, and gets a watch of its own).
    private var watched: [FolderKey: Int32] = [:]
    struct FolderKey: Hashable { var device: UInt64, inode: UInt64 }
    private static let fileMask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE)
    private static let folderMask = fileMask | UInt32(IN_DELETE_SELF | IN_MOVE_SELF)

    /// Starts watching `folder` (before the first scan, so that nothing falls between scan and watch).
    public init(folder: String) throws {
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw JobFolderError("inotify_init1: \(String(cString: strerror(errno)))") }
        let watch = inotify_add_watch(fd, folder, InboxWatcher.fileMask)
        guard watch >= 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw JobFolderError("cannot watch \(folder): \(reason)")
        }
        folders[watch] = ""
    }

    deinit { close(fd) }

    /// Watches `folder` (opened at `relative` below the inbox) unless it is watched already; returns nil, or the
    /// errno when the kernel refused (ENOSPC: `fs.inotify.max_user_watches` reached), in which case its changes are
    /// found by scanning.
    @discardableResult
    public func watch(_ folder: FolderHandle, relative: String) -> Int32? {
        var s = stat()
        guard fstat(folder.fd, &s) == 0 else { return errno }
        let key = FolderKey(device: UInt64(s.st_dev), inode: UInt64(s.st_ino))
        if watched[key] != nil { return nil }
        // The descriptor's own path: the folder intake opened, whatever its path names by now.
        let wd = inotify_add_watch(fd, "/proc/self/fd/\(folder.fd)", InboxWatcher.folderMask)
        guard wd >= 0 else { return errno }
        watched[key] = wd
        folders[wd] = relative
        return nil
    }

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
                let (wd, mask, length, name): (Int32, UInt32, Int, String) = buffer.withUnsafeBytes { raw in
                    let base = raw.baseAddress! + offset
                    let wd = base.loadUnaligned(as: Int32.self)
                    let mask = base.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
                    let len = Int(base.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
                    let nameBytes = UnsafeRawBufferPointer(start: base + 16, count: len)
                    return (wd, mask, len, String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self))
                }
                offset += 16 + length
                if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                    events.append(.overflow)
                    continue
                }
                guard let folder = folders[wd] else { continue }
                if mask & UInt32(IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED) != 0 {
                    // The folder left (or its watch went with it): forget the watch; a folder of that name later is
                    // watched anew when a scan meets it.
                    if mask & UInt32(IN_IGNORED) == 0 { inotify_rm_watch(fd, wd) }
                    folders[wd] = nil
                    watched = watched.filter { $0.value != wd }
                    if !folder.isEmpty { events.append(.created(folder)) }
                    continue
                }
                let key = folder.isEmpty ? name : folder + "/" + name
                if mask & UInt32(IN_CLOSE_WRITE | IN_MOVED_TO) != 0 {
                    events.append(.complete(key))
                } else if mask & UInt32(IN_CREATE) != 0 {
                    events.append(.created(key))
                }
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
