// DarkroomGallery: the static HTML gallery (index and one page per job) rendered from the database.
import Foundation
import DarkroomJobs
import DarkroomStore
import Mustache
import DarkroomJobModel
import DarkroomSupport

/// Renders `gallery/index.html` and `gallery/jobs/<id>/index.html` from the store with Mustache templates.
///
/// Templates (`index.mustache`, `job.mustache`, `style.css`) live in a folder users may restyle. Every value is
/// HTML-escaped by Mustache's `{{…}}`. Files are written to temporary names and renamed. Links are relative, so
/// the gallery works from `file://` and from any static web server.
public final class Gallery {
    public let folder: String
    let store: any JobStore
    let index: MustacheTemplate
    let job: MustacheTemplate
    let style: String
    /// Server folders and the names pages show instead (an error quoting `/srv/darkroom/inbox/x.png` shows
    /// `inbox/x.png`): a published gallery does not reveal the server's layout.
    public var pathLabels: [String: String] = [:]

    /// The templates that ship with Darkroom (copy the folder, edit, and set "templates" in config.json).
    public static var builtInTemplates: String { Bundle.module.url(forResource: "Templates", withExtension: nil)!.path }

    public init(folder: String, templates: String? = nil, store: any JobStore) throws {
        let templates = templates ?? Gallery.builtInTemplates
        self.folder = folder
        self.store = store
        func read(_ name: String) throws -> String {
            let path = (templates as NSString).appendingPathComponent(name)
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw GalleryError("cannot read template \(path)")
            }
            return text
        }
        do {
            index = try MustacheTemplate(string: try read("index.mustache"))
            job = try MustacheTemplate(string: try read("job.mustache"))
        } catch let error as GalleryError {
            throw error
        } catch {
            throw GalleryError("template error in \(templates): \(error)")
        }
        style = try read("style.css")
    }

    /// Re-renders every page from the database alone, first writing back every file the database holds (inputs and
    /// results of jobs that ended).
    public func rebuild() throws {
        let results = try store.allResults()
        let jobs = try store.jobs()
        for j in jobs where j.state.isFinal && j.state != .rejected { try restoreMissingFiles(j.id!, results: results[j.id!] ?? []) }
        // Pages are independent files: render and write them on every core.
        let parts = max(1, min(ProcessInfo.processInfo.activeProcessorCount, jobs.count))
        let firstError = FirstError()
        performConcurrently(parts) { part in
            for i in stride(from: part, to: jobs.count, by: parts) {
                do { try writeJobPage(jobs[i], results: results[jobs[i].id!] ?? []) } catch { firstError.keep(error) }
            }
        }
        if let error = firstError.error { throw error }
        try writeIndex()
    }

    public func writeJobPage(_ j: Job, results known: [JobResult]? = nil) throws {
        let dir = FolderLayout.jobFolder(gallery: folder, id: j.id!)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var context = basics(j)
        let results = try known ?? store.results(of: j.id!)
        func name(_ r: JobResult) -> String { Gallery.relativePath(r.path, from: dir) }
        context["results"] = results.filter { $0.kind == .result }.map { ["file": name($0), "label": ($0.path as NSString).lastPathComponent] }
        context["stage1"] = results.filter { $0.kind == .stageOne }.map { ["file": name($0), "label": ($0.path as NSString).lastPathComponent] }
        context["inputs"] = results.filter { $0.kind == .input || $0.kind == .mask }.map { ["file": name($0), "label": $0.kind.rawValue] }
        // Each result beside the input it came from, under one before/after slider.
        if let input = results.first(where: { $0.kind == .input }) {
            context["compare"] = results.filter { $0.kind == .result }.map {
                ["input": name(input), "file": name($0), "label": ($0.path as NSString).lastPathComponent]
            }
        }
        if let gif = results.first(where: { $0.kind == .gif }) { context["gif"] = name(gif) }
        if let cmp = results.first(where: { $0.kind == .comparison }) { context["comparison"] = name(cmp) }
        context["attempts"] = j.attempts
        // (The progress itself comes with `basics`.)
        if let progress = j.progress, j.state == .running, let preview = progress.preview {
            context["preview"] = preview + "?step=\(progress.step)"
        }
        // Until the job ends its page reloads itself (no server needed).
        if !j.state.isFinal { context["refresh"] = true }
        context["created"] = Gallery.timestamp(j.createdAt)
        if let s = j.startedAt { context["started"] = Gallery.timestamp(s) }
        if j.state != .rejected { context["parameters"] = Gallery.pretty(j.parameters.json) }
        if let notes = j.request?.notes, !notes.isEmpty { context["notes"] = notes }
        if let t = j.timings {
            context["timings"] = t.phases.map { ["phase": $0.name, "seconds": String(format: "%.2f", $0.seconds)] }
        }
        try write(job.render(context), to: (dir as NSString).appendingPathComponent(JobFiles.page))
    }

    func basics(_ j: Job) -> [String: Any] {
        var d: [String: Any] = ["id": j.id!, "name": j.name, "state": j.state.rawValue, "mode": j.mode, "model": j.model,
                                "prompt": j.prompt]
        // A rejected drop never ran: no seed, parameters or folder to show, only its reason.
        if j.state == .rejected { d["rejected"] = true } else { d["seed"] = j.seed; d["ran"] = true }
        if j.priority != 0 { d["priority"] = j.priority }
        if let p = j.preset { d["preset"] = p }
        if j.starred { d["starred"] = true }
        if let e = j.error { d["error"] = redact(e) }
        if let s = j.duration { d["duration"] = String(format: "%.1f s", s) }
        if let p = j.progress, j.state == .running { d["progress"] = Gallery.progressContext(p) }
        return d
    }

    /// `text` with every server folder of `pathLabels` replaced by its label (longest first).
    public func redact(_ text: String) -> String {
        var out = text
        for (path, label) in pathLabels.sorted(by: { $0.key.count > $1.key.count }) where !path.isEmpty {
            out = out.replacingOccurrences(of: path, with: label)
        }
        return out
    }

    /// The labels for a configuration's folders: the inbox, the gallery and each model's folder.
    public static func pathLabels(inbox: String, gallery: String, models: [String: String]) -> [String: String] {
        var labels = [inbox: "inbox", gallery: "gallery"]
        for (name, folder) in models { labels[folder] = "model '\(name)'" }
        return labels
    }

    /// What templates show of a running job's progress.
    static func progressContext(_ p: JobProgress) -> [String: Any] {
        var d: [String: Any] = ["stage": p.stage, "step": p.step, "steps": p.steps, "percent": Int((p.fraction * 100).rounded(.down)),
                                "elapsed": durationText(p.elapsedSeconds)]
        if let label = p.label { d["label"] = label }
        if let eta = p.etaSeconds { d["eta"] = durationText(eta) }
        return d
    }


    func relative(_ path: String) -> String { Gallery.relativePath(path, from: folder) }

    /// `path` relative to `base` when inside it; otherwise a file:// URL.
    static func relativePath(_ path: String, from base: String) -> String {
        let p = URL(fileURLWithPath: path).standardized.path, b = URL(fileURLWithPath: base).standardized.path
        if p.hasPrefix(b + "/") { return String(p.dropFirst(b.count + 1)) }
        // Sibling inside the gallery's jobs folder (page in jobs/<id>, file in jobs/<id>): handled above; else absolute.
        return URL(fileURLWithPath: p).absoluteString
    }

    static let formatter: DateFormatter = {
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        f.timeZone = TimeZone(identifier: "UTC")
        return f
    }()

    static func timestamp(_ d: Date) -> String { formatter.string(from: d) + " UTC" }

    static func pretty(_ json: String) -> String {
        guard let o = try? JSONSerialization.jsonObject(with: Data(json.utf8)),
              let d = try? JSONSerialization.data(withJSONObject: o, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) else { return json }
        return String(decoding: d, as: UTF8.self)
    }

    /// Writes `text` atomically unless the file already holds exactly that (only what changed is rewritten).
    func write(_ text: String, to path: String) throws {
        let data = Data(text.utf8)
        if let existing = FileManager.default.contents(atPath: path), existing == data { return }
        try AtomicFile.write(data, to: path)
    }
}

/// A problem rendering or writing the gallery.
public struct GalleryError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
