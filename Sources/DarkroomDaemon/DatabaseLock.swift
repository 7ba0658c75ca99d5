import Foundation
import DarkroomStore
#if canImport(Glibc)
import Glibc
#endif

/// One daemon per database: an exclusive `flock` on `DATABASE.lock`, holding the owner's pid. The kernel drops the
/// lock when the process dies (kill -9 included), so a crash never leaves a stale lock; recovery of "running" jobs
/// happens only in the holder, so it never touches a job another live process is running.
public final class DatabaseLock {
    public let path: String
    private let fd: Int32

    /// Takes the lock for `database`, or throws naming the pid that holds it.
    public init(database: String) throws {
        path = database + ".lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            throw JobFolderError("database: cannot create the lock file \(path): \(reason) (check that the database's folder exists and is writable)")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            // The holder writes its pid just after locking: a daemon started at the same moment may look too early.
            var pid = ""
            for _ in 0..<40 where pid.isEmpty {
                var buffer = [UInt8](repeating: 0, count: 32)
                let n = pread(fd, &buffer, buffer.count, 0)
                pid = n > 0 ? String(decoding: buffer.prefix(n), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : ""
                if pid.isEmpty { usleep(25_000) }
            }
            close(fd)
            if pid.isEmpty { pid = "unknown" }
            throw JobFolderError("another darkroom (pid \(pid)) is already running with the database \(database); stop it first, or give this one its own config.json with another database")
        }
        let text = Array("\(getpid())\n".utf8)
        ftruncate(fd, 0)
        _ = pwrite(fd, text, text.count, 0)
        self.fd = fd
    }

    deinit { close(fd) }
}

/// Takes the one-daemon-per-database lock of `store`: the file lock beside an SQLite database, the advisory lock on
/// PostgreSQL. Hold the returned object for as long as the lock must last.
public func lockDatabase(_ database: String, store: any JobStore) throws -> AnyObject {
    if let postgres = store as? PostgresJobStore { return try postgres.lockIntake() }
    return try DatabaseLock(database: database)
}
