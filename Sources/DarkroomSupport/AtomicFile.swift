import Foundation

/// Writes files through a temporary name in the same folder and a rename, so readers never see half a file.
public enum AtomicFile {
    /// A file that could not be written; names the path.
    public struct WriteError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        /// The errno of the failure, when known (ENOSPC: the disk is full).
        public var code: Int32?
        public var description: String { "\(path): cannot write: \(reason)" }
    }

    /// Writes `data` to `path` atomically (`.NAME.PID.tmp`, then rename).
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        // The temporary name stays within the file system's 255 bytes whatever the final name's length.
        var short = ""
        for c in url.lastPathComponent {
            if short.utf8.count + String(c).utf8.count > 160 { break }
            short.append(c)
        }
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(short).\(getpid()).tmp")
        do { try data.write(to: temporary) } catch {
            try? FileManager.default.removeItem(at: temporary)   // half a file, on a full disk
            throw WriteError(path: path, reason: "\(error)", code: FaultKind.posixCode(of: error))
        }
        guard rename(temporary.path, path) == 0 else {
            let code = errno
            try? FileManager.default.removeItem(at: temporary)
            throw WriteError(path: path, reason: String(cString: strerror(code)), code: code)
        }
    }

    /// Removes the temporary files of writes into `folder` that a killed process left (a finished or failed write
    /// leaves none). Call before writing a folder that a process writes once, such as a job folder.
    public static func removeLeftovers(in folder: String) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        for name in names where name.hasPrefix(".") && name.hasSuffix(".tmp") {
            try? FileManager.default.removeItem(atPath: (folder as NSString).appendingPathComponent(name))
        }
    }
}
