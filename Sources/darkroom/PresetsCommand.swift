import ArgumentParser
import DarkroomJobModel
import DarkroomJobs
import DarkroomSupport
import Foundation

/// `darkroom presets`: the preset folders of config.json, what each takes and the fields its jobs get.
struct PresetsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "presets", abstract: "List the preset folders of config.json: their folders, what they take and their fields.",
        discussion: "Drop a photo (or, for generate, anagram and hybrid, a .txt file with one prompt per line) into inbox/<preset>/ and it becomes a job with the preset's fields; NAME.json beside it adds to them, NAME.mask.png is an inpainting preset's mask.")

    @OptionGroup var configOption: ConfigOption
    @Flag(help: "Print JSON: name, folder, takes, fields.")
    var json = false

    func run() throws {
        let config = try configOption.load()
        let presets = config.presets.keys.sorted().map { config.presets[$0]! }
        let rows: [[String: Any]] = presets.map { p in
            ["name": p.name, "folder": (config.inbox as NSString).appendingPathComponent(p.name), "takes": PresetsCommand.takes(p),
             "fields": p.object, "folder_exists": FileManager.default.fileExists(atPath: (config.inbox as NSString).appendingPathComponent(p.name))]
        }
        if json {
            let data = try JSONSerialization.data(withJSONObject: rows, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        guard !presets.isEmpty else {
            print("no presets in \(config.path): add \"presets\": {\"NAME\": {sidecar fields}} to drop photos without a sidecar")
            return
        }
        for (p, row) in zip(presets, rows) {
            let exists = row["folder_exists"] as? Bool == true ? "" : " (created by `darkroom watch`)"
            print("\(JobError.quote(p.name, limit: 100))")
            print("  folder  \(row["folder"]!)\(exists)")
            print("  takes   \(PresetsCommand.takes(p))")
            print("  fields  \(p.summary)")
        }
    }

    /// What a preset's folder takes, in words.
    static func takes(_ p: Preset) -> String {
        if p.takesMask { return "images (.png, .jpg), each with its mask NAME.mask.png beside it" }
        if p.takesImage { return "images (.png, .jpg)" }
        return p.sidecar.takesTwoPrompts ? "prompt files (.txt): one job per line, two prompts separated by ' | '"
            : "prompt files (.txt): one job per line, the line as the prompt"
    }
}
