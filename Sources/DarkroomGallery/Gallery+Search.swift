import Foundation
import DarkroomJobModel

/// The gallery's search over all jobs: `search.js`, loaded by a script tag (so that it works from `file://`, where
/// pages may not fetch), which the index pages' search box reads.
extension Gallery {
    /// The search index's file name, beside `index.html`.
    public static let searchIndex = "search.js"

    /// `window.darkroomJobs = [[id, page, thumbnail, name, state, prompt, text, mode, preset, starred], …]`, newest first;
    /// `text` is what a search matches, lower-cased, with a space before and after each part: name, prompt(s), mode,
    /// model, preset, state, `#id`, "starred", `seed N` and every parameter.
    func searchScript(_ jobs: [Job], thumbnails: [Int64: String]) throws -> String {
        let rows: [[Any]] = jobs.map { j in
            var text = [j.name, j.prompt, j.mode, j.model, j.preset ?? "", j.state.rawValue, "#\(j.id!)"] + (j.starred ? ["starred"] : [])
            if let r = j.request { text += r.prompts }
            if j.state != .rejected { text += ["seed \(j.seed)", j.parameters.json] }
            if let e = j.error { text.append(redact(e)) }
            return [j.id!, FolderLayout.jobPage(id: j.id!), thumbnails[j.id!].map(relative) ?? "", j.name, j.state.rawValue, j.prompt,
                    " " + text.joined(separator: " ").lowercased() + " ", j.mode, j.preset ?? "", j.starred ? 1 : 0]
        }
        let data = try JSONSerialization.data(withJSONObject: rows, options: [.withoutEscapingSlashes])
        return "// Darkroom's search index (written with the gallery; read by the index pages' search box).\nwindow.darkroomJobs = "
            + String(decoding: data, as: UTF8.self) + ";\n"
    }
}
