import Foundation
import DarkroomJobs
import DarkroomStore
import DarkroomJobModel

/// The index: pages of 100 jobs, newest first (`index.html`, `page-2.html`, …), and `jobs.json` for tools.
extension Gallery {
    /// Jobs per index page.
    public static let pageSize = 100

    /// The file of index page `k` (1-based).
    public static func indexPage(_ k: Int) -> String { k == 1 ? JobFiles.page : "page-\(k).html" }

    /// Writes every index page, `jobs.json`, the search index and the stylesheet, and removes pages beyond the last.
    public func writeIndex() throws {
        let jobs = try store.jobs()
        let thumbnails = try store.thumbnails()
        let pageCount = max(1, (jobs.count + Gallery.pageSize - 1) / Gallery.pageSize)
        let listing = Listing(total: jobs.count, modes: Array(Set(jobs.map(\.mode))).sorted(),
                              presets: Array(Set(jobs.compactMap(\.preset))).sorted(), pending: jobs.contains { !$0.state.isFinal })
        for k in 1...pageCount {
            let slice = Array(jobs[min(jobs.count, (k - 1) * Gallery.pageSize)..<min(jobs.count, k * Gallery.pageSize)])
            try writeIndexPage(k, of: pageCount, jobs: slice, listing: listing, thumbnails: thumbnails)
        }
        var k = pageCount + 1
        while FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent(Gallery.indexPage(k))) {
            try? FileManager.default.removeItem(atPath: (folder as NSString).appendingPathComponent(Gallery.indexPage(k)))
            k += 1
        }
        try write(try jobsJSON(jobs, thumbnails: thumbnails), to: (folder as NSString).appendingPathComponent("jobs.json"))
        try write(try searchScript(jobs, thumbnails: thumbnails), to: (folder as NSString).appendingPathComponent(Gallery.searchIndex))
        try write(style, to: (folder as NSString).appendingPathComponent("style.css"))
    }

    /// Re-renders only the index pages that list `ids` (a running job's progress, about once a second), reading
    /// only those pages' jobs.
    public func writeIndexPages(listing ids: Set<Int64>) throws {
        let counts = try store.counts()
        let total = counts.values.reduce(0, +)
        let pageCount = max(1, (total + Gallery.pageSize - 1) / Gallery.pageSize)
        let listing = Listing(total: total, modes: try store.modes(), presets: try store.presets(),
                              pending: (counts[.queued] ?? 0) + (counts[.running] ?? 0) > 0)
        let pages = Set(try ids.map { try store.newerJobCount(than: $0) / Gallery.pageSize + 1 })
        for k in pages.sorted() {
            let slice = try store.jobs(limit: Gallery.pageSize, offset: (k - 1) * Gallery.pageSize)
            try writeIndexPage(k, of: pageCount, jobs: slice, listing: listing, thumbnails: try store.thumbnails(of: slice.compactMap(\.id)))
        }
    }

    /// What every index page says of all the jobs.
    struct Listing {
        var total: Int
        var modes: [String]
        var presets: [String]
        /// Some job is queued or running: pages reload themselves.
        var pending: Bool
    }

    func writeIndexPage(_ k: Int, of pageCount: Int, jobs slice: [Job], listing: Listing, thumbnails: [Int64: String]) throws {
        let cards: [[String: Any]] = slice.map { j in
            var card = basics(j)
            card["page"] = FolderLayout.jobPage(id: j.id!)
            if let thumb = thumbnails[j.id!] { card["thumbnail"] = relative(thumb) }
            // A running job shows its latest x̂₀ (the query string makes browsers fetch each new one).
            if j.state == .running, let p = j.progress, let preview = p.preview {
                card["thumbnail"] = "jobs/\(j.id!)/\(preview)?step=\(p.step)"
            }
            return card
        }
        var context: [String: Any] = [
            "count": listing.total, "jobs": cards, "updated": Gallery.timestamp(Date()),
            "modes": listing.modes.filter { $0 != "-" }, "presets": listing.presets, "hasPresets": !listing.presets.isEmpty, "states": JobState.allCases.map(\.rawValue), "page": k, "pages": pageCount,
        ]
        if pageCount > 1 {
            context["paginated"] = true
            context["pagination"] = (1...pageCount).map { ["number": $0, "file": Gallery.indexPage($0), "current": $0 == k] as [String: Any] }
            if k > 1 { context["previous"] = Gallery.indexPage(k - 1) }
            if k < pageCount { context["next"] = Gallery.indexPage(k + 1) }
        }
        if listing.pending { context["refresh"] = true }
        try write(index.render(context), to: (folder as NSString).appendingPathComponent(Gallery.indexPage(k)))
    }

    /// Every job, newest first, as tools want it: links relative to the gallery, no server paths.
    func jobsJSON(_ jobs: [Job], thumbnails: [Int64: String]) throws -> String {
        let iso = ISO8601DateFormatter()
        let list: [[String: Any]] = jobs.enumerated().map { k, j in
            var d: [String: Any] = ["id": j.id!, "name": j.name, "state": j.state.rawValue, "mode": j.mode, "model": j.model,
                                    "prompt": j.prompt, "attempts": j.attempts, "priority": j.priority,
                                    "created_at": iso.string(from: j.createdAt),
                                    "page": FolderLayout.jobPage(id: j.id!), "index_page": Gallery.indexPage(k / Gallery.pageSize + 1)]
            if j.state != .rejected { d["seed"] = j.seed }
            d["preset"] = j.preset ?? NSNull()
            d["starred"] = j.starred
            if let e = j.error { d["error"] = redact(e) }
            if let s = j.startedAt { d["started_at"] = iso.string(from: s) }
            if let f = j.finishedAt { d["finished_at"] = iso.string(from: f) }
            if let s = j.duration { d["duration_seconds"] = s }
            if let t = thumbnails[j.id!] { d["thumbnail"] = relative(t) }
            if j.state == .running, let p = j.progress,
               let object = try? JSONSerialization.jsonObject(with: JSONEncoder().encode(p)) { d["progress"] = object }
            return d
        }
        let data = try JSONSerialization.data(withJSONObject: ["count": jobs.count, "page_size": Gallery.pageSize, "jobs": list],
                                              options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }
}
