import Foundation
import DarkroomGallery
import DarkroomJobModel
import DarkroomStore
import DarkroomSupport

/// What retention removes, the one code `darkroom prune` and `watch`'s daily prune run: ended jobs past the policy
/// (their rows, results, inputs and notices, then their gallery folder: files and page), files set aside in
/// `inbox/rejected/` and `inbox/duplicates/` older than `rejected_days`, and the gallery's index rewritten without them.
///
/// A job is deleted from the database before its folder is removed, one job at a time, and only while it is still
/// ended and unstarred (a job retried or starred since it was chosen stays, folder and all).
public struct Pruner {
    public let store: any JobStore
    public let gallery: String
    public let inbox: String
    public var policy: RetentionPolicy

    public init(store: any JobStore, gallery: String, inbox: String, policy: RetentionPolicy) {
        self.store = store
        self.gallery = gallery
        self.inbox = inbox
        self.policy = policy
    }

    /// One removed (or, in a dry run, removable) job or file.
    public struct Removal: Equatable {
        public var jobID: Int64?
        /// The job's name, or the file's path relative to the inbox.
        public var name: String
        public var state: JobState?
        public var endedAt: Date?
        public var bytes: Int64
    }

    public struct Report: Equatable {
        public var dryRun: Bool
        public var jobs: [Removal] = []
        public var files: [Removal] = []
        public var bytes: Int64 { (jobs + files).map(\.bytes).reduce(0, +) }
    }

    /// Removes (or with `dryRun` only lists) what the policy says at `now`; `rewriteIndex` is called once after jobs
    /// were removed (the gallery's index pages, `jobs.json` and the search index list every job).
    public func prune(dryRun: Bool, now: Date = Date(), rewriteIndex: () throws -> Void) throws -> Report {
        var report = Report(dryRun: dryRun)
        for job in try store.jobsPastRetention(policy, now: now) {
            guard let id = job.id else { continue }
            let folder = FolderLayout.jobFolder(gallery: gallery, id: id)
            let removal = Removal(jobID: id, name: job.name, state: job.state, endedAt: job.finishedAt ?? job.createdAt, bytes: Pruner.size(of: folder))
            if dryRun { report.jobs.append(removal); continue }
            guard try store.deleteEndedJobs([id], keepStarred: policy.keepStarred) == [id] else { continue }
            try? FileManager.default.removeItem(atPath: folder)
            report.jobs.append(removal)
        }
        if let days = policy.rejectedDays {
            let cutoff = now.addingTimeInterval(-days * 86_400)
            for name in [FolderLayout.rejected, FolderLayout.duplicates] {
                let dir = (inbox as NSString).appendingPathComponent(name)
                for entry in ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() where !entry.hasPrefix(".") {
                    // Set-aside manifests and temporaries start with a dot: a move in progress is never touched.
                    let path = (dir as NSString).appendingPathComponent(entry)
                    var st = stat()
                    guard lstat(path, &st) == 0, Date(timeIntervalSince1970: TimeInterval(st.st_mtim.tv_sec)) < cutoff else { continue }
                    let removal = Removal(jobID: nil, name: "\(name)/\(entry)", state: nil,
                                          endedAt: Date(timeIntervalSince1970: TimeInterval(st.st_mtim.tv_sec)), bytes: Pruner.size(of: path))
                    if !dryRun {
                        do { try FileManager.default.removeItem(atPath: path) } catch { continue }
                    }
                    report.files.append(removal)
                }
            }
        }
        if !dryRun && !report.jobs.isEmpty { try rewriteIndex() }
        return report
    }

    /// Bytes of a file, or of every file under a folder (links counted as links, never followed).
    static func size(of path: String) -> Int64 {
        var st = stat()
        guard lstat(path, &st) == 0 else { return 0 }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { return Int64(st.st_size) }
        var total: Int64 = 0
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
            total += size(of: (path as NSString).appendingPathComponent(entry))
        }
        return total
    }
}

extension Pruner.Report {
    /// One line per job and file, and a summary: "removed 3 jobs and 2 set-aside files, freeing 4.1 MB".
    public var lines: [String] {
        let verb = dryRun ? "would remove" : "removed"
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withFullDate]
        var out = jobs.map { r in
            "\(verb) job \(r.jobID ?? 0) '\(JobError.quote(r.name, limit: 60))' (\(r.state?.rawValue ?? "?"), ended \(r.endedAt.map(f.string) ?? "?"), \(Pruner.Report.size(r.bytes)))"
        }
        out += files.map { "\(verb) \($0.name) (\(f.string(from: $0.endedAt ?? Date())), \(Pruner.Report.size($0.bytes)))" }
        let what = "\(jobs.count) job\(jobs.count == 1 ? "" : "s") and \(files.count) set-aside file\(files.count == 1 ? "" : "s")"
        out.append(dryRun ? "would remove \(what), freeing \(Pruner.Report.size(bytes)) (dry run: nothing was removed)"
                          : "removed \(what), freeing \(Pruner.Report.size(bytes))")
        return out
    }

    static func size(_ bytes: Int64) -> String {
        if bytes < 1024 { return "\(bytes) B" }
        if bytes < 1024 * 1024 { return String(format: "%.1f kB", Double(bytes) / 1024) }
        if bytes < 1024 * 1024 * 1024 { return String(format: "%.1f MB", Double(bytes) / 1_048_576) }
        return String(format: "%.2f GB", Double(bytes) / 1_073_741_824)
    }
}
