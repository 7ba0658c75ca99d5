import Foundation
import DarkroomJobModel
import DarkroomSupport

/// Files whose names are not UTF-8 (an old Samba share or a Latin-1 client): renamed in place to a UTF-8 name
/// (`FolderLayout.utf8Name`) and then taken like any other drop, never left unseen.
extension Intake {
    /// Renames the entries of `folder` named by `foreign` (bytes that are not UTF-8), files and, in preset folders
    /// (`folders`), sub-folders. Names that would be ignored once renamed (a client's temporary, `.NAME.XXXXXX`) are
    /// left to their client. Logged once per file; a rename that fails is logged once and tried again at the next
    /// periodic look. Returns the new names.
    @discardableResult
    func renameForeignNames(in folder: FolderHandle, _ foreign: [[UInt8]], relative: String?, folders: Bool) -> [String] {
        var renamed: [String] = []
        for raw in foreign {
            guard let entry = folder.entry(raw: raw), entry.kind == .regular || (folders && entry.kind == .directory) else { continue }
            let shown = FolderLayout.utf8Name(raw: raw)
            let ignored = entry.kind == .directory ? config.ignore.ignoresFolder(shown) : config.ignore.ignoresFile(shown)
            if ignored || FolderLayout.reservedInboxNames.contains(shown) { continue }
            let place = relative.map { $0 + "/" } ?? ""
            var result: Int32 = EEXIST, name = shown
            for k in 1...100 where result == EEXIST {
                name = k == 1 ? shown : FolderLayout.utf8Name(raw: raw, suffix: "-\(k)")
                result = folder.rename(raw: raw, to: name)
            }
            if result == 0 {
                renamed.append(name)
                // Not a finished file because it was renamed: the rename's own event must not vouch for it.
                if relative == nil { selfRenamed.insert(name) }
                failedRenames.remove(raw)
                DaemonLog.info("renamed '\(place)\(shown)' to '\(place)\(name)': its name was not UTF-8 (bytes \(raw.map { String(format: "%02x", $0) }.joined(separator: " "))), which Darkroom cannot record")
            } else {
                listingNeeded = true
                guard failedRenames.insert(raw).inserted else { continue }
                DaemonLog.warning("'\(place)\(shown)' has a name that is not UTF-8 and cannot be renamed (\(String(cString: strerror(result)))): rename it to drop it")
            }
        }
        return renamed
    }
}
