import Foundation
import CFileOps
import DarkroomJobs
#if canImport(Glibc)
import Glibc
import DarkroomSupport
#endif

/// Moves entries between open folders without ever replacing a file: a taken name gets `-1`, `-2`, … before its
/// extension. Across file systems a regular file is copied, synced and renamed into place, and only then removed.
public enum FileMover {
    /// The longest name a Linux file system takes, in bytes.
    static let maxNameBytes = 255

    /// Moves `name` from `source` into `target` (as `preferred`, else its own name, or a free variant); returns the
    /// name it now has. With `expect`, the entry moved must still be that file (same device and inode), or the move
    /// is undone and an error thrown: a file swapped between reading and moving is never taken. `copyIfLinked`: a
    /// regular file with other hard links is copied and its name in `source` removed, so that what lands in
    /// `target` shares no inode with a file elsewhere.
    @discardableResult
    public static func move(_ name: String, from source: FolderHandle, to target: FolderHandle, as preferred: String? = nil,
                            expect: FolderHandle.Entry? = nil, copyIfLinked: Bool = false) throws -> String {
        var final = freeName(preferred ?? name, in: target)
        if copyIfLinked, let now = source.entry(name), now.kind == .regular, now.links > 1 {
            try copyAcrossFileSystems(name, from: source, to: target, as: final, expect: expect)
            return final
        }
        var e: Int32 = 0
        for attempt in 1...100 {
            if rename(name, in: source, to: final, in: target) {
                if let expect, let now = target.entry(final), !now.isSameFile(as: expect) {
                    // Give it back; under another name if its own was taken meanwhile, never lost.
                    if !rename(final, in: target, to: name, in: source) { _ = try? move(final, from: target, to: source) }
                    throw JobError(field: nil, "'\(JobError.quote(name))' changed while it was being taken; left in place")
                }
                return final
            }
            e = errno
            guard e == EEXIST else { break }
            final = variant(preferred ?? name, attempt + Int.random(in: 0...1_000))  // taken since freeName looked
        }
        guard e == EXDEV else {
            throw JobFolderError("cannot move \(source.child(name)) to \(target.child(final)): \(FolderHandle.reason(e))")
        }
        try copyAcrossFileSystems(name, from: source, to: target, as: final, expect: expect)
        return final
    }

    /// Renames without ever replacing: RENAME_NOREPLACE, or where the file system cannot do it, a check and a rename.
    static func rename(_ name: String, in source: FolderHandle, to final: String, in target: FolderHandle) -> Bool {
        if darkroom_rename_noreplace(source.fd, name, target.fd, final) == 0 { return true }
        guard errno == EINVAL || errno == ENOSYS else { return false }
        if target.entry(final) != nil {
            errno = EEXIST
            return false
        }
        return renameat(source.fd, name, target.fd, final) == 0
    }

    /// Copy, fsync, rename into place, fsync the folder, then remove the original.
    static func copyAcrossFileSystems(_ name: String, from source: FolderHandle, to target: FolderHandle, as final: String,
                                      expect: FolderHandle.Entry?) throws {
        let (data, entry) = try source.read(name, limit: Int.max)
        if let expect, !entry.isSameFile(as: expect) {
            throw JobError(field: nil, "'\(JobError.quote(name))' changed while it was being taken; left in place")
        }
        let temporary = ".\(shortened(final, toBytes: 100)).\(getpid()).tmp"
        let f = openat(target.fd, temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard f >= 0 else { throw JobFolderError("\(target.child(temporary)): cannot create: \(FolderHandle.reason(errno))") }
        var ok = true
        var written = 0
        data.withUnsafeBytes { raw in
            while written < data.count {
                let n = write(f, raw.baseAddress! + written, data.count - written)
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { ok = false; return }
                written += n
            }
        }
        let failure = errno
        if ok, fsync(f) != 0 { ok = false }
        close(f)
        guard ok, rename(temporary, in: target, to: final, in: target) else {
            unlinkat(target.fd, temporary, 0)
            throw JobFolderError("cannot copy \(source.child(name)) to \(target.child(final)): \(FolderHandle.reason(ok ? errno : failure))")
        }
        fsync(target.fd)
        guard unlinkat(source.fd, name, 0) == 0 else {
            throw JobFolderError("copied \(source.child(name)) to \(target.child(final)) but cannot remove the original: \(FolderHandle.reason(errno))")
        }
    }

    /// `name`, or `stem-k.ext` for the first k whose name is free in `folder`; never longer than 255 bytes.
    public static func freeName(_ name: String, in folder: FolderHandle) -> String {
        let fitted = shortened(name, toBytes: maxNameBytes)
        if folder.entry(fitted) == nil { return fitted }
        for k in 1...10_000 {
            let candidate = variant(name, k)
            if folder.entry(candidate) == nil { return candidate }
        }
        return variant(name, Int.random(in: 10_001...Int.max))
    }

    /// `stem-k.ext`, shortened to fit 255 bytes.
    public static func variant(_ name: String, _ k: Int) -> String {
        let ext = (name as NSString).pathExtension
        let stem = ext.isEmpty ? name : (name as NSString).deletingPathExtension
        let suffix = "-\(k)" + (ext.isEmpty ? "" : "." + ext)
        return shortened(stem, toBytes: maxNameBytes - suffix.utf8.count) + suffix
    }

    /// The longest prefix of `s` (whole characters) of at most `bytes` UTF-8 bytes, keeping its extension when it can.
    static func shortened(_ s: String, toBytes bytes: Int) -> String {
        if s.utf8.count <= bytes { return s }
        let ext = (s as NSString).pathExtension
        let keep = !ext.isEmpty && ext.utf8.count + 2 < bytes / 2 ? "." + ext : ""
        let base = keep.isEmpty ? s : (s as NSString).deletingPathExtension
        var out = ""
        for c in base {
            if out.utf8.count + String(c).utf8.count > bytes - keep.utf8.count { break }
            out.append(c)
        }
        return out + keep
    }
}
