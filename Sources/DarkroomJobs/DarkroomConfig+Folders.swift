import Foundation
import DarkroomSupport

extension DarkroomConfig {
    /// Refuses folder settings that would let the daemon take or overwrite what is not a drop: an inbox or gallery
    /// that is `/`, empty, a file, the same as or inside the other, or that contains the database or this config
    /// file. Paths are compared with symbolic links resolved.
    func checkFolders(raw: [String: Any]) throws {
        for key in ["inbox", "gallery", "database"] {
            if let value = raw[key] as? String, value.trimmingCharacters(in: .whitespaces).isEmpty {
                throw JobError(field: key, "\(path): must not be empty")
            }
        }
        let inbox = DarkroomConfig.real(self.inbox), gallery = DarkroomConfig.real(self.gallery)
        let database = usesPostgreSQL ? "" : DarkroomConfig.real(self.database), configFile = DarkroomConfig.real(self.path)
        for (key, folder) in [("inbox", inbox), ("gallery", gallery)] {
            if folder == "/" { throw JobError(field: key, "\(path): must not be the root folder /") }
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), !isFolder.boolValue {
                throw JobError(field: key, "\(path): \(folder) is a file, not a folder")
            }
            if !database.isEmpty, DarkroomConfig.contains(folder, database) {
                throw JobError(field: key, "\(path): \(folder) contains the database \(database); keep the database outside it")
            }
            if DarkroomConfig.contains(folder, configFile) {
                throw JobError(field: key, "\(path): \(folder) contains this config file; keep config.json outside it")
            }
        }
        if DarkroomConfig.contains(inbox, gallery) || DarkroomConfig.contains(gallery, inbox) {
            throw JobError(field: "gallery", "\(path): the inbox (\(inbox)) and the gallery (\(gallery)) must be separate folders, neither inside the other")
        }
    }

    /// True when `path` is `folder` or inside it.
    static func contains(_ folder: String, _ path: String) -> Bool {
        path == folder || path.hasPrefix(folder.hasSuffix("/") ? folder : folder + "/")
    }

    /// `path` absolute and standardised, with the symbolic links of its existing part resolved.
    static func real(_ path: String) -> String {
        var existing = URL(fileURLWithPath: path).standardized
        var rest: [String] = []
        while !FileManager.default.fileExists(atPath: existing.path), existing.path != "/" {
            rest.insert(existing.lastPathComponent, at: 0)
            existing.deleteLastPathComponent()
        }
        var resolved = existing.resolvingSymlinksInPath()
        for part in rest { resolved.appendPathComponent(part) }
        return resolved.standardized.path
    }
}
