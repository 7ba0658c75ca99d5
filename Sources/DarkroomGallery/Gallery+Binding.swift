import Foundation
import DarkroomJobs
import DarkroomStore
import DarkroomTensor
import DarkroomJobModel
import DarkroomSupport

extension Gallery {
    /// Binds the gallery to its database: the database's id is written into the gallery the first time, and a
    /// gallery of another database is refused. Job ids restart at 1 in a new database, so without this a lost
    /// database would mix two jobs' files in one `jobs/<id>` folder.
    public func bindToDatabase(_ databasePath: String) throws {
        let id = try store.databaseID()
        let file = (folder as NSString).appendingPathComponent(FolderLayout.galleryBinding)
        if let data = FileManager.default.contents(atPath: file) {
            let recorded = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard recorded == id else {
                throw GalleryError("""
                    gallery: \(folder) holds the jobs of another database (id \(recorded)), not of \(databasePath) (id \(id)). \
                    Point "gallery" in config.json at a new folder, or "database" back at the database of this gallery.
                    """)
            }
            return
        }
        // First start with this gallery: every job folder in it must be one of this database's jobs.
        let jobs = FolderLayout.jobsFolder(gallery: folder)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: jobs)) ?? []
        for name in names.sorted() {
            guard let n = Int64(name) else { continue }
            let manifest = ((jobs as NSString).appendingPathComponent(name) as NSString).appendingPathComponent(FolderLayout.intakeManifest)
            if FileManager.default.fileExists(atPath: manifest) { continue }  // an interrupted intake, rolled back at start
            if try store.job(n) == nil {
                throw GalleryError("""
                    gallery: \(folder) has a folder jobs/\(name) that \(databasePath) does not know: the gallery belongs to \
                    another (perhaps lost) database. Point "gallery" in config.json at a new folder, or "database" at the \
                    database of this gallery.
                    """)
            }
        }
        try AtomicFile.write(Data((id + "\n").utf8), to: file)
    }
}
