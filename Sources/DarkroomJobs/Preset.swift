import Foundation
import DarkroomJobModel
import DarkroomSupport

/// A preset of config.json: a folder `inbox/<name>/` whose drops need no sidecar. Every image (or, for the modes
/// that start from noise, every line of a prompt file) dropped anywhere under it becomes a job with these fields.
public struct Preset: Equatable {
    public var name: String
    /// The preset's fields as config.json gives them, as JSON with sorted keys.
    public var fields: Data
    /// The same fields, validated as a sidecar's are.
    public var sidecar: Sidecar

    /// The fields a preset may not give: a preset's files are the ones dropped into its folder.
    public static let fileFields: Set<String> = ["image", "mask"]

    /// Validates preset `name` of config file `path`: every problem names the preset and the key.
    public static func read(_ name: String, _ value: Any, models: [String: String], path: String) throws -> Preset {
        let field = "presets.\(JobError.quote(name))"
        try checkFolderName(name, field: field, path: path)
        guard let object = value as? [String: Any] else {
            throw JobError(field: field, "\(path): must be an object of sidecar fields, e.g. {\"mode\": \"sdedit\", \"prompt\": \"a coat\"}")
        }
        if let given = object.keys.sorted().first(where: fileFields.contains) {
            throw JobError(field: "\(field).\(given)", "\(path): a preset takes the files dropped into its folder (\(given == "mask" ? "NAME.mask.png beside NAME.png" : "every image in inbox/\(name)/")); leave \"\(given)\" out")
        }
        let sidecar: Sidecar
        do { sidecar = try Sidecar(object: object, preset: true) } catch let e as JobError {
            throw JobError(field: e.field.map { "\(field).\($0)" } ?? field, "\(path): \(e.message)")
        }
        if let model = sidecar.model, models[model] == nil {
            throw JobError(field: "\(field).model", "\(path): unknown model '\(JobError.quote(model))' (known: \(models.keys.sorted().joined(separator: ", ")))")
        }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return Preset(name: name, fields: data, sidecar: sidecar)
    }

    /// A preset's name is a folder of the inbox: one name, not hidden, not one of Darkroom's own, not ignored.
    static func checkFolderName(_ name: String, field: String, path: String) throws {
        let problem: String? =
            name.isEmpty ? "the name is empty" :
            name.contains("/") || name.contains("\u{0}") ? "the name must be one folder name (no '/')" :
            name == "." || name == ".." || name.hasPrefix(".") ? "the name must not start with '.' (hidden folders are ignored)" :
            FolderLayout.reservedInboxNames.contains(name) ? "'\(name)' is Darkroom's own folder in the inbox" :
            name.utf8.count > 100 ? "the name is longer than 100 bytes" :
            IgnoreRules.defaultFolderNames.contains(name) ? "'\(name)' is a folder intake ignores" : nil
        if let problem { throw JobError(field: field, "\(path): \(problem)") }
    }

    /// What a preset's drops are: images (with a mask by name for inpainting), or prompt files.
    public var takesImage: Bool { sidecar.takesImage }
    public var takesMask: Bool { sidecar.takesMask }

    /// The fields as an object, to which a drop adds its own.
    public var object: [String: Any] { (try? JSONSerialization.jsonObject(with: fields)) as? [String: Any] ?? [:] }

    /// The fields as one line of text (`status`, `darkroom presets`).
    public var summary: String { String(decoding: fields, as: UTF8.self) }
}
