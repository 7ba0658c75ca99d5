import Foundation

/// Where everything lives, written once: the inbox's own folders, the names Darkroom never takes as inputs, and the
/// layout of a job's folder in the gallery.
///
/// A job folder holds Darkroom's outputs at its top level (`result*.png`, `comparison.png`, `progress.gif`,
/// `input.png`, `mask.png`, `index.html`) and the user's files, byte for byte and under their own names, in
/// `inputs/`: no output can ever collide with an input.
public enum FolderLayout {
    /// `inbox/rejected/`: rejected drops, each beside `NAME.error.json`.
    public static let rejected = "rejected"
    /// `inbox/duplicates/`: drops whose content is already a job, each beside `NAME.duplicate.json`.
    public static let duplicates = "duplicates"
    /// Names in the inbox that belong to Darkroom.
    public static let reservedInboxNames: Set<String> = [rejected, duplicates]
    /// The sub-folder of a job folder that holds the user's files.
    public static let inputs = "inputs"
    /// Written in a job folder while its inputs are being moved; a crash leaves it, and the next start rolls back.
    public static let intakeManifest = ".intake.json"
    /// Written in the gallery: the id of the database whose jobs it shows.
    public static let galleryBinding = ".darkroom-database-id"
    /// Suffix of a rejection's note, and of a duplicate's.
    public static let errorNoteSuffix = ".error.json"
    public static let duplicateNoteSuffix = ".duplicate.json"
    /// The longest file name (bytes) Darkroom writes a note under; longer names are shortened.
    public static let maxNoteStemBytes = 200

    /// `<gallery>/jobs`.
    public static func jobsFolder(gallery: String) -> String { (gallery as NSString).appendingPathComponent("jobs") }

    /// `<gallery>/jobs/<id>`.
    public static func jobFolder(gallery: String, id: Int64) -> String {
        (jobsFolder(gallery: gallery) as NSString).appendingPathComponent(String(id))
    }

    /// Names the daemon never treats as drops or inputs: dotfiles and partial copies (`*.tmp`, `*.part`).
    public static func isIgnored(_ name: String) -> Bool {
        name.hasPrefix(".") || name.hasSuffix(".tmp") || name.hasSuffix(".part")
    }

    /// Darkroom's own temporaries (`.NAME….tmp`), which a killed process may leave and a start removes. Only in
    /// folders Darkroom owns (the gallery, job folders, `rejected/`, `duplicates/`), never in the inbox itself.
    public static func isDarkroomTemporary(_ name: String) -> Bool { name.hasPrefix(".") && name.hasSuffix(".tmp") }

    /// The stem a note is written under: the name itself, or for long names a prefix cut at a character boundary
    /// and a hash of the whole name, so notes of 255-byte names still fit the file system's limit.
    public static func noteStem(_ stem: String) -> String {
        if stem.utf8.count <= maxNoteStemBytes { return stem }
        var prefix = ""
        for c in stem {
            if prefix.utf8.count + String(c).utf8.count > maxNoteStemBytes - 17 { break }
            prefix.append(c)
        }
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in stem.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return prefix + "-" + String(format: "%016llx", h)
    }
}
