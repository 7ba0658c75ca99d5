import Foundation
import DarkroomJobModel
import DarkroomSupport
#if canImport(Glibc)
import Glibc
#endif

/// A decided move of a drop out of the inbox, into `rejected/` or `duplicates/`: written there before the first file
/// moves, removed once every file moved, the note is written and (for a rejection) the record is in the database.
///
/// The decision is never undone: a manifest found at start means a kill in between, and the start finishes the move
/// (`SetAside.complete`), so every file ends in exactly one place. A file is known by its device and inode, so a new
/// file dropped under the same name meanwhile is never taken in its place.
struct SetAsideManifest: Codable, Equatable {
    enum Kind: String, Codable { case rejected, duplicate }

    /// One file of the drop, as it was when the move was decided.
    struct File: Codable, Equatable {
        /// The path relative to the inbox.
        var from: String
        var device: UInt64
        var inode: UInt64
    }

    var kind: Kind
    /// The sidecar's name in the inbox (also `files[0]`).
    var sidecar: String
    /// The sidecar first (it is the drop), then its inputs.
    var files: [File]
    /// What the note says besides where the files went.
    var note: SetAsideNote
    /// The note's file name, chosen before it is written, so a start that finds the manifest writes it once.
    var noteName: String?
    /// A rejection's record (its input hash is random and unique: the start records it unless it is there).
    var record: Job?

    enum CodingKeys: String, CodingKey {
        case kind, sidecar, files, note, record
        case noteName = "note_name"
    }

    func write(_ name: String, in folder: FolderHandle) throws {
        try AtomicFile.write(try JSONEncoder().encode(self), to: folder.child(name))
    }

    static func read(_ name: String, in folder: FolderHandle) -> SetAsideManifest? {
        guard let data = try? folder.read(name, limit: 1 << 22).data else { return nil }
        return try? JSONDecoder().decode(SetAsideManifest.self, from: data)
    }
}

/// The note beside a rejected or duplicate drop (`NAME.error.json`, `NAME.duplicate.json`): what it was, where each
/// of its files went, and why.
struct SetAsideNote: Codable, Equatable {
    struct Moved: Codable, Equatable {
        var file: String
        var movedTo: String

        enum CodingKeys: String, CodingKey {
            case file
            case movedTo = "moved_to"
        }
    }

    var sidecar: String
    var movedTo: String?
    var files: [Moved] = []
    var time: String
    /// A rejection's reason, and the sidecar field at fault (written as null when the whole drop is).
    var error: String?
    var field: String?
    /// A duplicate's original job, by id and name.
    var duplicateOf: Int64?
    var original: String?

    enum CodingKeys: String, CodingKey {
        case sidecar, files, time, error, field, original
        case movedTo = "moved_to", duplicateOf = "duplicate_of"
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(sidecar, forKey: .sidecar)
        try c.encode(movedTo, forKey: .movedTo)
        try c.encode(files, forKey: .files)
        try c.encode(time, forKey: .time)
        if let error {
            try c.encode(error, forKey: .error)
            try c.encode(field, forKey: .field)
        }
        try c.encodeIfPresent(duplicateOf, forKey: .duplicateOf)
        try c.encodeIfPresent(original, forKey: .original)
    }
}
