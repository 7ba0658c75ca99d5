import Foundation
import DarkroomGallery
import DarkroomJobs
import DarkroomStore
#if canImport(Glibc)
import Glibc
import DarkroomJobModel
#endif

/// What a start repairs after a kill -9 (it runs holding the database lock, so no other daemon is mid-way).
extension Daemon {
    /// Rolls back intakes a crash interrupted: a job folder with a manifest but no committed row gives its files back
    /// to the inbox (to the folder they came from, sidecar last), and is removed. Returns how many were rolled back.
    static func rollBackInterruptedIntakes(inbox: FolderHandle, jobs: FolderHandle, store: any JobStore) throws -> Int {
        var rolledBack = 0
        for name in jobs.names() where Int64(name) != nil && jobs.kind(of: name) == .directory {
            let folder = try jobs.subfolder(name, create: false)
            guard let manifest = IntakeManifest.read(in: folder) else { continue }
            if let row = try store.job(Int64(name)!), row.inputHash == manifest.inputHash {
                IntakeManifest.remove(from: folder)  // committed just before the crash
                continue
            }
            let inputs = try? folder.subfolder(FolderLayout.inputs, create: false)
            for file in manifest.files {
                guard let inputs, inputs.entry(file.to) != nil else { continue }
                var parts = file.from.split(separator: "/").map(String.init)
                let original = parts.removeLast()
                var parent = inbox
                for part in parts {
                    guard parent.kind(of: part) == .directory, let sub = try? parent.subfolder(part, create: false) else { parent = inbox; break }
                    parent = sub
                }
                let back = try FileMover.move(file.to, from: inputs, to: parent, as: original)
                DaemonLog.warning("interrupted intake of job \(name): returned \(inputs.child(file.to)) to \(parent.child(back))")
            }
            IntakeManifest.remove(from: folder)
            unlinkat(folder.fd, FolderLayout.inputs, AT_REMOVEDIR)
            if folder.names().isEmpty { unlinkat(jobs.fd, name, AT_REMOVEDIR) }
            rolledBack += 1
        }
        return rolledBack
    }

    /// Removes Darkroom's own `.NAME….tmp` files that a killed process left in the gallery, its job folders and the
    /// inbox's `rejected/` and `duplicates/` (never in the inbox itself: dotfiles there are the user's).
    static func removeStaleTemporaries(gallery: FolderHandle, jobs: FolderHandle, inbox: FolderHandle) -> Int {
        var removed = 0
        func clean(_ folder: FolderHandle) {
            for n in folder.names() where FolderLayout.isDarkroomTemporary(n) && folder.kind(of: n) == .regular {
                if unlinkat(folder.fd, n, 0) == 0 { removed += 1 }
            }
        }
        clean(gallery)
        for n in jobs.names() where Int64(n) != nil && jobs.kind(of: n) == .directory {
            guard let f = try? jobs.subfolder(n, create: false) else { continue }
            clean(f)
            if f.kind(of: FolderLayout.inputs) == .directory, let inputs = try? f.subfolder(FolderLayout.inputs, create: false) { clean(inputs) }
        }
        for n in FolderLayout.reservedInboxNames where inbox.kind(of: n) == .directory {
            if let f = try? inbox.subfolder(n, create: false) { clean(f) }
        }
        return removed
    }

    /// Writes the page of every job whose page is missing or older than the job's end (a kill between the
    /// database's commit and the page), and of the jobs in `recovered` (their pages still say running); returns how
    /// many. The index is rewritten by the caller.
    static func writeMissingPages(gallery: Gallery, store: JobStore, alsoFor recovered: Set<Int64>) throws -> Int {
        var written = 0
        for job in try store.jobs() {
            let page = (FolderLayout.jobFolder(gallery: gallery.folder, id: job.id!) as NSString).appendingPathComponent(JobFiles.page)
            let attributes = try? FileManager.default.attributesOfItem(atPath: page)
            let modified = attributes?[.modificationDate] as? Date
            if !recovered.contains(job.id!), let modified, modified >= (job.finishedAt ?? job.createdAt) { continue }
            try gallery.writeJobPage(job)
            written += 1
        }
        return written
    }
}
