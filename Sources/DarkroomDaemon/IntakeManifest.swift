import Foundation
import DarkroomJobs
#if canImport(Glibc)
import Glibc
import DarkroomSupport
import DarkroomJobModel
#endif

/// What an intake is moving into a job folder, written there before the first file moves and removed once the
/// transaction that queues the job has committed. A manifest found at start means a crash in between: if the job's
/// row exists (same input hash) the intake finished; otherwise every file goes back where it came from.
struct IntakeManifest: Codable {
    struct File: Codable {
        /// The path relative to the inbox the file came from.
        var from: String
        /// Its name in the job's `inputs/`.
        var to: String
    }
    var inputHash: String
    /// In the order they moved: inputs first, the sidecar (the commit marker) last.
    var files: [File]

    enum CodingKeys: String, CodingKey {
        case inputHash = "input_hash", files
    }

    func write(in folder: FolderHandle) throws {
        try AtomicFile.write(try JSONEncoder().encode(self), to: folder.child(FolderLayout.intakeManifest))
    }

    static func read(in folder: FolderHandle) -> IntakeManifest? {
        guard let data = try? folder.read(FolderLayout.intakeManifest, limit: 1 << 20).data else { return nil }
        return try? JSONDecoder().decode(IntakeManifest.self, from: data)
    }

    static func remove(from folder: FolderHandle) { unlinkat(folder.fd, FolderLayout.intakeManifest, 0) }
}
