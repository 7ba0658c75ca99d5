import CFileOps
import Foundation
import DarkroomJobs
#if canImport(Glibc)
import Glibc
import DarkroomJobModel
import DarkroomSupport
#endif

/// An open folder: every entry below it is reached by name from this descriptor, never by following a symbolic
/// link, so nothing outside the folder can be read or moved through a link planted inside it.
public final class FolderHandle {
    public let fd: Int32
    /// For messages only; lookups go through `fd`.
    public let path: String

    /// Opens `path` (a folder; a symbolic link to one is accepted for the top folder, which config.json names).
    public init(path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw JobFolderError("\(path): cannot open the folder: \(FolderHandle.reason(errno))") }
        self.fd = fd
        self.path = path
    }

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    /// The sub-folder `name`, created when missing; refuses a link or a file in its place.
    /// `mode` applies when the folder is created (exactly: the process's umask does not narrow it).
    public func subfolder(_ name: String, create: Bool = true, mode: mode_t = 0o755) throws -> FolderHandle {
        if create {
            if mkdirat(fd, name, mode) == 0 {
                fchmodat(fd, name, mode, 0)
            } else if errno != EEXIST {
                throw JobFolderError("\(child(name)): cannot create the folder: \(FolderHandle.reason(errno))")
            }
        }
        let sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard sub >= 0 else {
            let e = errno
            let what = e == ELOOP || e == ENOTDIR ? "is not a folder (a \(kind(of: name).description) is in the way)" : FolderHandle.reason(e)
            throw JobFolderError("\(child(name)): \(what)")
        }
        return FolderHandle(fd: sub, path: child(name))
    }

    /// The folder's read/write/search bits for owner, group and others (setuid, setgid and sticky left out: a
    /// sub-folder of a setgid folder inherits setgid from it, and services with RestrictSUIDSGID may not set it).
    public var accessPermissions: mode_t {
        var s = stat()
        return fstat(fd, &s) == 0 ? s.st_mode & 0o777 : 0o755
    }

    /// A new sub-folder `name` for Darkroom's own use: created, or an existing one if it is empty. One that already
    /// holds files belongs to no job (what a failed intake could not give back): it is renamed aside to
    /// `.orphan-NAME-TIME`, kept and logged, never written into.
    public func newSubfolder(_ name: String) throws -> FolderHandle {
        let folder = try subfolder(name)
        // A kill between creating the folder and writing its manifest leaves an empty inputs/: that holds nothing.
        unlinkat(folder.fd, FolderLayout.inputs, AT_REMOVEDIR)
        guard !folder.names().isEmpty else { return folder }
        let aside = ".orphan-\(name)-\(Int(Date().timeIntervalSince1970))"
        guard renameat(fd, name, fd, aside) == 0 else {
            throw JobFolderError("\(child(name)) holds files no job owns and cannot be moved aside: \(FolderHandle.reason(errno))")
        }
        DaemonLog.warning("\(child(name)) held files no job owns; kept as \(child(aside))")
        return try subfolder(name)
    }

    /// The entry `name` as it is (a link is reported as a link, not followed).
    public func entry(_ name: String) -> Entry? {
        var s = stat()
        guard fstatat(fd, name, &s, AT_SYMLINK_NOFOLLOW) == 0 else { return nil }
        return Entry(s)
    }

    public func kind(of name: String) -> Entry.Kind { entry(name)?.kind ?? .missing }

    /// The folder holding `relative` (a path below this folder) and its last component, reached through real
    /// sub-folders only; nil when a component on the way is missing, a link or not a folder.
    public func descend(_ relative: String) -> (folder: FolderHandle, name: String)? {
        var parts = relative.split(separator: "/").map(String.init)
        guard let last = parts.popLast() else { return nil }
        var folder = self
        for part in parts {
            guard folder.kind(of: part) == .directory, let sub = try? folder.subfolder(part, create: false) else { return nil }
            folder = sub
        }
        return (folder, last)
    }

    /// True when `name` is a symbolic link whose target is a folder (only the target's type is looked at).
    public func isFolderThroughLink(_ name: String) -> Bool {
        var s = stat()
        return fstatat(fd, name, &s, 0) == 0 && s.st_mode & S_IFMT == S_IFDIR
    }

    /// The folder's own modification time (changed by every entry added, removed or renamed in it); nil if unknown.
    public var modified: Date? {
        var s = stat()
        guard fstat(fd, &s) == 0 else { return nil }
        return Date(timeIntervalSince1970: Double(s.st_mtim.tv_sec) + Double(s.st_mtim.tv_nsec) / 1e9)
    }

    /// Every name in the folder that is UTF-8 (unsorted), `.` and `..` left out.
    public func names() -> [String] { listing().names }

    /// One reading of the folder: the UTF-8 names, and the bytes of the names that are not UTF-8 (which a `String`
    /// cannot hold as they are, so nothing could be opened by them).
    public func listing() -> (names: [String], foreign: [[UInt8]]) {
        let dup = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dup >= 0 else { return ([], []) }
        guard let dir = fdopendir(dup) else {
            close(dup)
            return ([], [])
        }
        defer { closedir(dir) }
        var names: [String] = [], foreign: [[UInt8]] = []
        while let e = readdir(dir) {
            withUnsafeBytes(of: e.pointee.d_name) { raw in
                let bytes = raw.prefix { $0 != 0 }
                if let name = String(validating: bytes, as: UTF8.self) {
                    if name != "." && name != ".." { names.append(name) }
                } else {
                    foreign.append(Array(bytes))
                }
            }
        }
        return (names, foreign)
    }

    /// What `lstat` says of the entry whose name is `raw` (bytes that need not be UTF-8).
    public func entry(raw: [UInt8]) -> Entry? {
        var s = stat()
        let found = (raw + [0]).withUnsafeBufferPointer { p in
            p.baseAddress!.withMemoryRebound(to: CChar.self, capacity: p.count) { fstatat(fd, $0, &s, AT_SYMLINK_NOFOLLOW) == 0 }
        }
        return found ? Entry(s) : nil
    }

    /// Renames the entry `raw` to `name` in this folder unless `name` is taken; returns 0 or the errno (EEXIST when
    /// taken). Where the file system cannot rename without replacing (NFS), the name is checked first, as `FileMover`
    /// does.
    public func rename(raw: [UInt8], to name: String) -> Int32 {
        (raw + [0]).withUnsafeBufferPointer { p in
            p.baseAddress!.withMemoryRebound(to: CChar.self, capacity: p.count) { old -> Int32 in
                if darkroom_rename_noreplace(fd, old, fd, name) == 0 { return 0 }
                guard errno == EINVAL || errno == ENOSYS else { return errno }
                if entry(name) != nil { return EEXIST }
                return renameat(fd, old, fd, name) == 0 ? 0 : errno
            }
        }
    }

    /// Reads the regular file `name` (at most `limit` bytes), refusing links, FIFOs, devices and folders.
    public func read(_ name: String, limit: Int, field: String? = nil) throws -> (data: Data, entry: Entry) {
        let f = openat(fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard f >= 0 else {
            let e = errno
            if e == ELOOP { throw JobError(field: field, "'\(JobError.quote(name))' is a symbolic link; only regular files inside the inbox are taken") }
            if e == ENOENT { throw JobError(field: field, "file '\(JobError.quote(name))' not found beside the sidecar") }
            throw JobError(field: field, "'\(JobError.quote(name))': cannot open: \(FolderHandle.reason(e))")
        }
        defer { close(f) }
        var s = stat()
        guard fstat(f, &s) == 0 else { throw JobError(field: field, "'\(JobError.quote(name))': \(FolderHandle.reason(errno))") }
        let entry = Entry(s)
        guard entry.kind == .regular else {
            throw JobError(field: field, "'\(JobError.quote(name))' is a \(entry.kind.description), not a regular file")
        }
        guard entry.size <= limit else {
            throw JobError(field: field, "'\(JobError.quote(name))' is \(entry.size) bytes; the limit is \(limit)")
        }
        var data = Data(count: entry.size)
        var done = 0
        while done < entry.size {
            let n = data.withUnsafeMutableBytes { Glibc.read(f, $0.baseAddress! + done, entry.size - done) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { break }
            done += n
        }
        if done < entry.size { data.removeSubrange(done...) }
        return (data, entry)
    }

    /// `path/name`, for messages.
    public func child(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    static func reason(_ e: Int32) -> String { String(cString: strerror(e)) }

    /// What `lstat` says of an entry.
    public struct Entry: Equatable {
        public enum Kind: Equatable, CustomStringConvertible {
            case regular, directory, symlink, fifo, socket, device, missing
            public var description: String {
                switch self {
                case .regular: "regular file"
                case .directory: "folder"
                case .symlink: "symbolic link"
                case .fifo: "FIFO (named pipe)"
                case .socket: "socket"
                case .device: "device"
                case .missing: "missing file"
                }
            }
        }
        public var kind: Kind
        public var size: Int
        public var modified: Date
        public var device: UInt64
        public var inode: UInt64
        /// How many names (hard links) the file has.
        public var links: Int

        /// The same regular file, unchanged: device, inode, size and modification time.
        public func isSameFile(as other: Entry) -> Bool {
            kind == .regular && other.kind == .regular && device == other.device && inode == other.inode
                && size == other.size && modified == other.modified
        }

        init(_ s: stat) {
            switch s.st_mode & S_IFMT {
            case S_IFREG: kind = .regular
            case S_IFDIR: kind = .directory
            case S_IFLNK: kind = .symlink
            case S_IFIFO: kind = .fifo
            case S_IFSOCK: kind = .socket
            default: kind = .device
            }
            size = Int(s.st_size)
            modified = Date(timeIntervalSince1970: Double(s.st_mtim.tv_sec) + Double(s.st_mtim.tv_nsec) / 1e9)
            device = UInt64(s.st_dev)
            inode = UInt64(s.st_ino)
            links = Int(s.st_nlink)
        }
    }
}
