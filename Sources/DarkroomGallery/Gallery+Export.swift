import Foundation
import DarkroomJobs
import DarkroomStore
import DarkroomSupport
import DarkroomJobModel

extension Gallery {
    /// Writes a job's files from the database into `jobs/<id>/`, then its page, then records the export.
    ///
    /// Workers hand results back through the database (they may run on other hosts); this is where they become files.
    /// Only Darkroom's own output names are written, each atomically. A finished job's preview is removed.
    public func export(_ id: Int64) throws {
        guard let job = try store.job(id) else { return }
        let dir = FolderLayout.jobFolder(gallery: folder, id: id)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let results = try store.results(of: id)
        let files = try store.resultFiles(of: id)
        let held = results.compactMap { r in r.id.flatMap { files[$0] }.map { (r, $0) } }
        try writeResultFiles(id, results: held.map(\.0), files: held.map(\.1))
        if job.state == .done { try? FileManager.default.removeItem(atPath: (dir as NSString).appendingPathComponent(JobFiles.preview)) }
        try writeJobPage(job, results: results)
        if job.state.isFinal { try store.markExported(id, endedAt: job.finishedAt) }
    }

    /// Writes back the files of a job that are missing from `jobs/<id>/` (`gallery --rebuild`): results and inputs
    /// the database holds. The bytes are read only when something is missing; nothing present is replaced.
    func restoreMissingFiles(_ id: Int64, results: [JobResult]) throws {
        let dir = FolderLayout.jobFolder(gallery: folder, id: id)
        let missing = results.filter { !FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent(($0.path as NSString).lastPathComponent)) }
        if !missing.isEmpty {
            let files = try store.resultFiles(of: id)
            let held = missing.compactMap { r in r.id.flatMap { files[$0] }.map { (r, $0) } }
            try writeResultFiles(id, results: held.map(\.0), files: held.map(\.1))
        }
        let inputsFolder = (dir as NSString).appendingPathComponent(FolderLayout.inputs)
        if !FileManager.default.fileExists(atPath: inputsFolder) || ((try? FileManager.default.contentsOfDirectory(atPath: inputsFolder)) ?? []).isEmpty {
            for f in try store.inputs(of: id) where JobFile.isSafeRelativeName(f.name) && f.name.hasPrefix(FolderLayout.inputs + "/") {
                let path = (dir as NSString).appendingPathComponent(f.name)
                if FileManager.default.fileExists(atPath: path) { continue }
                try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try AtomicFile.write(f.data, to: path)
            }
        }
    }

    /// Writes result files into `jobs/<id>/` under their own names, each atomically; only Darkroom's output names.
    public func writeResultFiles(_ id: Int64, results: [JobResult], files: [Data]) throws {
        let dir = FolderLayout.jobFolder(gallery: folder, id: id)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        AtomicFile.removeLeftovers(in: dir)   // a gallery host killed while exporting this job before
        for (r, data) in zip(results, files) {
            let name = (r.path as NSString).lastPathComponent
            guard JobFiles.isOutputName(name) else { throw GalleryError("job \(id): result '\(name)' is not a Darkroom output name; not written") }
            try AtomicFile.write(data, to: (dir as NSString).appendingPathComponent(name))
        }
    }

    /// Writes a running job's latest preview (from the database) and its page.
    public func writeRunningPage(_ id: Int64) throws {
        guard let job = try store.job(id), job.state == .running else { return }
        if let data = try store.preview(of: id) {
            let dir = FolderLayout.jobFolder(gallery: folder, id: id)
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try AtomicFile.write(data, to: (dir as NSString).appendingPathComponent(JobFiles.preview))
        }
        try writeJobPage(job)
    }

    /// Exports every job that ended since the last export (at most `limit`); returns their ids.
    @discardableResult
    public func exportEnded(limit: Int = 200) throws -> [Int64] {
        let ids = try store.jobsToExport(limit: limit)
        for id in ids { try export(id) }
        return ids
    }
}
