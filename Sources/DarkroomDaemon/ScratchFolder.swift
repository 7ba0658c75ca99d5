import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A process's private scratch folder under `$TMPDIR`: a unique name made by mkdtemp (mode 0700, so no other user can
/// plant a link in it), with a marker naming the process that made it. Any number of daemons and workers, on any
/// databases, share a host: each writes only into its own folder, and at start each removes only folders whose marker
/// names a process that no longer runs (leftovers of a kill -9), never one that is a link, someone else's, or alive.
struct ScratchFolder {
    /// The folder, `$TMPDIR/darkroom-scratch-<owner>-XXXXXX`.
    let url: URL
    static let prefix = "darkroom-scratch-"
    /// The marker file in each scratch folder: `pid start-ticks boot-id`, one line.
    static let marker = ".darkroom-scratch"

    /// Makes a fresh folder for `owner` (a worker id, made safe for a file name) and removes dead processes' leftovers.
    init(owner: String, parent: String = NSTemporaryDirectory()) throws {
        let removed = ScratchFolder.removeLeftovers(in: parent)
        if removed > 0 { DaemonLog.info("removed \(removed) scratch folder(s) of processes that no longer run") }
        let safe = String(owner.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }.prefix(60))
        var template = Array((parent as NSString).appendingPathComponent("\(ScratchFolder.prefix)\(safe)-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw JobFolderError("cannot create a scratch folder in \(parent): \(String(cString: strerror(errno))) (set TMPDIR to a writable folder)")
        }
        url = URL(fileURLWithPath: String(cString: made), isDirectory: true)
        let fd = open(url.appendingPathComponent(ScratchFolder.marker).path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw JobFolderError("cannot write the marker in \(url.path): \(String(cString: strerror(errno)))") }
        let line = Array((ScratchFolder.identity(of: getpid()) ?? "\(getpid())").utf8)
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    /// A job attempt's folder inside this one (created by the caller).
    func folder(for job: Int64, attempt: Int) -> URL { url.appendingPathComponent("\(job)-\(attempt)", isDirectory: true) }

    /// Removes the folder (the process stops).
    func remove() { try? FileManager.default.removeItem(at: url) }

    /// `pid start-ticks boot-id` of a running process (/proc), or nil when it does not run.
    static func identity(of pid: pid_t) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Field 22 (starttime) counts from the field after the command name in parentheses (field 3).
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19 else { return nil }
        let boot = (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        return "\(pid) \(fields[19]) \(boot)"
    }

    /// Removes every scratch folder in `parent` that is a real folder owned by this user, holds a marker, and whose
    /// marker names a process that no longer runs. Returns how many.
    static func removeLeftovers(in parent: String) -> Int {
        // Without /proc no process can be told alive: nothing is removed.
        guard identity(of: getpid()) != nil, let names = try? FileManager.default.contentsOfDirectory(atPath: parent) else { return 0 }
        var removed = 0
        for name in names where name.hasPrefix(prefix) {
            let path = (parent as NSString).appendingPathComponent(name)
            var s = stat()
            guard lstat(path, &s) == 0, (s.st_mode & S_IFMT) == S_IFDIR, s.st_uid == getuid() else { continue }
            let markerPath = (path as NSString).appendingPathComponent(marker)
            var m = stat()
            guard lstat(markerPath, &m) == 0, (m.st_mode & S_IFMT) == S_IFREG, m.st_uid == getuid(),
                  let text = try? String(contentsOfFile: markerPath, encoding: .utf8) else { continue }
            let written = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard let pid = written.split(separator: " ").first.flatMap({ pid_t($0) }) else { continue }
            if identity(of: pid) == written { continue }  // that process still runs
            if (try? FileManager.default.removeItem(atPath: path)) != nil { removed += 1 }
        }
        return removed
    }
}
