import Foundation
import XCTest
import DarkroomDiffusion
import DarkroomGallery
import DarkroomStore
import DarkroomTestSupport
import DarkroomJobModel

/// The static gallery: escaping, completeness, and a real browser's rendering.
final class GalleryTests: XCTestCase {
    static func request(prompt: String) -> EditRequest {
        var r = EditRequest(mode: .generate)
        r.prompt = prompt
        return r
    }

    private func populated(_ dir: URL) throws -> SQLiteJobStore {
        let store = try SQLiteJobStore(path: dir.appendingPathComponent("db.sqlite").path)
        let evil = #"<script>alert("pwned")</script> & 'quotes'"#
        for k in 0..<5 {
            var j = Job(name: k == 0 ? "x\"><img src=x onerror=alert(1)>" : "job\(k)", mode: k % 2 == 0 ? "generate" : "sdedit",
                              model: "fashion", prompt: k == 0 ? evil : "a bag", seed: Int64(k), parameters: .edit(Self.request(prompt: "<b>")),
                              inputHash: "h\(k)", folder: dir.appendingPathComponent("gallery/jobs/\(k + 1)").path)
            j.state = .queued
            _ = try store.enqueue(j)
        }
        let claimed = try XCTUnwrap(try store.claimNext())
        let folder = claimed.folder
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let png = Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAAAAABX3VL4AAAADklEQVR4nGP4z8DA8B8ABfsC/mZ5o4QAAAAASUVORK5CYII=")!
        try png.write(to: URL(fileURLWithPath: folder + "/result.png"))
        try store.finish(Claim(claimed), results: [JobResult(jobID: 0, kind: .result, path: folder + "/result.png", size: Int64(png.count), index: 1)],
                         timings: ["sample": 0.5])
        let second = try XCTUnwrap(try store.claimNext())
        try store.fail(Claim(second), error: "model <exploded>")
        return store
    }

    func testAJobPageShowsEachResultBesideItsInputUnderABeforeAfterSlider() throws {
        let dir = try temporaryFolder(self)
        let store = try SQLiteJobStore(path: dir.appendingPathComponent("db.sqlite").path)
        var j = Job(name: "coat", mode: "sdedit", model: "fashion", prompt: "a coat", seed: 1, parameters: .edit(Self.request(prompt: "a coat")),
                    inputHash: "h", folder: dir.appendingPathComponent("gallery/jobs/1").path)
        j.state = .queued
        _ = try store.enqueue(j)
        let claimed = try XCTUnwrap(try store.claimNext())
        try FileManager.default.createDirectory(atPath: claimed.folder, withIntermediateDirectories: true)
        let png = Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAAAAABX3VL4AAAADklEQVR4nGP4z8DA8B8ABfsC/mZ5o4QAAAAASUVORK5CYII=")!
        var records: [JobResult] = []
        for (k, (name, kind)) in [("result-1.png", ResultKind.result), ("result-2.png", .result), ("input.png", .input), ("mask.png", .mask)].enumerated() {
            try png.write(to: URL(fileURLWithPath: claimed.folder + "/" + name))
            records.append(JobResult(jobID: 0, kind: kind, path: claimed.folder + "/" + name, size: Int64(png.count), index: k + 1))
        }
        try store.finish(Claim(claimed), results: records, timings: ["sample": 0.5])
        try Gallery(folder: dir.appendingPathComponent("gallery").path, store: store).rebuild()
        let page = try String(contentsOf: dir.appendingPathComponent("gallery/jobs/1/index.html"), encoding: .utf8)
        XCTAssertEqual(page.components(separatedBy: #"<figure class="compare">"#).count - 1, 2, "one slider per result")
        for name in ["result-1.png", "result-2.png"] {
            XCTAssertTrue(page.contains(#"<img src="input.png" alt="input"><img class="after" src="\#(name)""#), page)
        }
        XCTAssertTrue(page.contains(#"<input type="range""#) && page.contains("--cut"), "the slider moves the cut, no server needed")
        let css = try String(contentsOf: dir.appendingPathComponent("gallery/style.css"), encoding: .utf8)
        XCTAssertTrue(css.contains("clip-path: inset(0 0 0 var(--cut))"), css)
    }

    func testUserTextIsEscapedEverywhere() throws {
        let dir = try temporaryFolder(self)
        let store = try populated(dir)
        let gallery = try Gallery(folder: dir.appendingPathComponent("gallery").path, store: store)
        try gallery.rebuild()
        let index = try String(contentsOf: dir.appendingPathComponent("gallery/index.html"), encoding: .utf8)
        XCTAssertFalse(index.contains("<script>alert"), "prompt not escaped")
        XCTAssertFalse(index.contains("<img src=x"), "name not escaped")
        XCTAssertFalse(index.contains("<exploded>"), "error not escaped")
        XCTAssertTrue(index.contains("&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;"))
        XCTAssertTrue(index.contains("model &lt;exploded&gt;"), "failed jobs show their reason")
        let page = try String(contentsOf: dir.appendingPathComponent("gallery/jobs/1/index.html"), encoding: .utf8)
        XCTAssertFalse(page.contains("<script>alert"))
        XCTAssertTrue(page.contains("src=\"result.png\""), "links are relative to the page")
        XCTAssertTrue(page.contains("sample"), "timings per phase")
    }

    func testOneCardPerJobNewestFirstWithRelativeLinks() throws {
        let dir = try temporaryFolder(self)
        let store = try populated(dir)
        let gallery = try Gallery(folder: dir.appendingPathComponent("gallery").path, store: store)
        try gallery.writeIndex()
        let index = try String(contentsOf: dir.appendingPathComponent("gallery/index.html"), encoding: .utf8)
        let cards = index.components(separatedBy: "<div class=\"card\"").count - 1
        XCTAssertEqual(cards, try store.jobs().count)
        let first = try XCTUnwrap(index.range(of: "jobs/5/index.html")), last = try XCTUnwrap(index.range(of: "jobs/1/index.html"))
        XCTAssertLessThan(first.lowerBound, last.lowerBound, "newest first")
        XCTAssertTrue(index.contains("src=\"jobs/1/result.png\""))
        XCTAssertFalse(index.contains("file://"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("gallery/style.css").path))
    }

    /// 250 jobs: one running with progress, one rejected, the rest done.
    private func large(_ dir: URL) throws -> SQLiteJobStore {
        let store = try SQLiteJobStore(path: dir.appendingPathComponent("db.sqlite").path)
        for k in 1...250 {
            var j = Job(name: "job\(k)", mode: "generate", model: "fashion", prompt: "a bag \(k)", seed: Int64(k * 7),
                              parameters: .edit(Self.request(prompt: "a bag \(k)")), inputHash: "h\(k)", folder: dir.appendingPathComponent("gallery/jobs/\(k)").path)
            j.state = k == 250 ? .running : k == 249 ? .rejected : .done
            if k == 249 { j.error = "image: 'x.png' is a FIFO (named pipe), not a regular file"; j.parameters = .rejection; j.folder = "/srv/inbox/rejected" }
            if k == 250 {
                j.progress = JobProgress(stage: "sampling", label: "sample", step: 30, steps: 120, elapsedSeconds: 12, etaSeconds: 36, preview: "preview.png")
            }
            _ = try store.enqueue(j)
        }
        return store
    }

    func testTheIndexIsPaginatedNewestFirstWithJobsJSON() throws {
        let dir = try temporaryFolder(self)
        let gallery = try Gallery(folder: dir.appendingPathComponent("gallery").path, store: try large(dir))
        gallery.pathLabels = Gallery.pathLabels(inbox: "/srv/inbox", gallery: "/srv/gallery", models: [:])
        try store(dir).writer.write { try $0.execute(sql: "UPDATE jobs SET error = 'cannot move /srv/inbox/x.png' WHERE id = 3") }
        try gallery.rebuild()
        let g = dir.appendingPathComponent("gallery")
        let pages = try ["index.html", "page-2.html", "page-3.html"].map { try String(contentsOf: g.appendingPathComponent($0), encoding: .utf8) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: g.appendingPathComponent("page-4.html").path))
        XCTAssertEqual(pages.map { $0.components(separatedBy: "class=\"card\"").count - 1 }, [100, 100, 50])
        XCTAssertTrue(pages[0].contains("jobs/250/index.html") && pages[2].contains("jobs/1/index.html"), "newest first")
        XCTAssertTrue(pages[0].contains("href=\"page-2.html\"") && pages[1].contains("href=\"index.html\"") && pages[1].contains("href=\"page-3.html\""))
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: g.appendingPathComponent("jobs.json"))) as? [String: Any])
        let list = try XCTUnwrap(json["jobs"] as? [[String: Any]])
        XCTAssertEqual(list.count, 250)
        XCTAssertEqual(list.first?["id"] as? Int, 250)
        XCTAssertEqual((list.first?["progress"] as? [String: Any])?["step"] as? Int, 30)
        XCTAssertEqual(list[150]["index_page"] as? String, "page-2.html")
        let rejected = try XCTUnwrap(list.first { $0["state"] as? String == "rejected" })
        XCTAssertNil(rejected["seed"], "a rejected drop has no seed")
        let text = String(decoding: try Data(contentsOf: g.appendingPathComponent("jobs.json")), as: UTF8.self)
        XCTAssertFalse(text.contains("/srv/"), "no server paths")
        XCTAssertTrue(text.contains("cannot move inbox/x.png"), "folders named by label")
        // The running card shows its progress; the rejected one its reason and no seed.
        XCTAssertTrue(pages[0].contains("step 30/120") && pages[0].contains("36s left"))
        let card = try XCTUnwrap(pages[0].components(separatedBy: "class=\"card\"").first { $0.contains("jobs/249/") })
        XCTAssertTrue(card.contains("rejected: image:") && !card.contains("seed"), card)
        // Removing jobs removes the pages past the last.
        try store(dir).writer.write { try $0.execute(sql: "DELETE FROM jobs WHERE id > 90") }
        try gallery.writeIndex()
        XCTAssertFalse(FileManager.default.fileExists(atPath: g.appendingPathComponent("page-2.html").path))
    }

    func testARunningJobPageShowsProgressAndRefreshesARejectedOneShowsOnlyItsReason() throws {
        let dir = try temporaryFolder(self)
        let store = try large(dir)
        try store.writer.write { try $0.execute(sql: "UPDATE jobs SET error = 'model: cannot read /srv/models/tiny/config.json' WHERE id = 248") }
        let gallery = try Gallery(folder: dir.appendingPathComponent("gallery").path, store: store)
        gallery.pathLabels = Gallery.pathLabels(inbox: "/srv/inbox", gallery: dir.appendingPathComponent("gallery").path, models: ["tiny": "/srv/models/tiny"])
        try gallery.rebuild()
        let failed = try String(contentsOf: dir.appendingPathComponent("gallery/jobs/248/index.html"), encoding: .utf8)
        XCTAssertTrue(failed.contains("cannot read model &#39;tiny&#39;/config.json") || failed.contains("cannot read model 'tiny'/config.json"), failed)
        XCTAssertFalse(failed.contains("/srv/"), "no server paths on pages")
        let running = try String(contentsOf: dir.appendingPathComponent("gallery/jobs/250/index.html"), encoding: .utf8)
        XCTAssertTrue(running.contains("http-equiv=\"refresh\""))
        XCTAssertTrue(running.contains("step 30 of 120 (25%)") && running.contains("about 36s left") && running.contains("preview.png"))
        let rejected = try String(contentsOf: dir.appendingPathComponent("gallery/jobs/249/index.html"), encoding: .utf8)
        XCTAssertTrue(rejected.contains("Rejected at intake: image:"))
        for absent in ["seed", "<pre>", "/srv/", "http-equiv"] { XCTAssertFalse(rejected.contains(absent), absent) }
        let done = try String(contentsOf: dir.appendingPathComponent("gallery/jobs/5/index.html"), encoding: .utf8)
        XCTAssertTrue(done.contains("<th>seed</th><td>35</td>") && !done.contains("http-equiv"))
    }

    private func store(_ dir: URL) throws -> SQLiteJobStore { try SQLiteJobStore(path: dir.appendingPathComponent("db.sqlite").path) }

    func testChromiumRendersTheIndexAndAJobPage() throws {
        guard let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first(where: FileManager.default.isExecutableFile) else {
            throw XCTSkip("Chromium is not installed (apt-get install chromium; .ci/run installs it)")
        }
        let dir = try temporaryFolder(self)
        let store = try populated(dir)
        try Gallery(folder: dir.appendingPathComponent("gallery").path, store: store).rebuild()
        let big = dir.appendingPathComponent("big")
        try FileManager.default.createDirectory(at: big, withIntermediateDirectories: true)
        try Gallery(folder: big.appendingPathComponent("gallery").path, store: try large(big)).rebuild()
        for page in ["index.html", "jobs/1/index.html", "../big/gallery/page-2.html", "../big/gallery/jobs/250/index.html", "../big/gallery/jobs/249/index.html"] {
            let shot = dir.appendingPathComponent("shot-\(page.replacingOccurrences(of: "/", with: "-")).png")
            let p = Process()
            p.executableURL = URL(fileURLWithPath: chromium)
            p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=800,600",
                           "--screenshot=\(shot.path)", dir.appendingPathComponent("gallery/\(page)").absoluteString]
            p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
            p.standardError = FileHandle(forWritingAtPath: "/dev/null")
            try p.run()
            p.waitForExit()
            let data = try Data(contentsOf: shot)
            try? FileManager.default.removeItem(at: shot)
            XCTAssertGreaterThan(data.count, 2000, "\(page): screenshot written")
            // Not blank: the PNG of a uniform page compresses to almost nothing; text and cards do not.
            XCTAssertGreaterThan(data.count, 5000, "\(page): screenshot shows content")
        }
        // The filters run in the browser and live in the URL: only the running job's card stays visible.
        let dom = try dumpDOM(chromium, big.appendingPathComponent("gallery/index.html").absoluteString + "#status=running")
        XCTAssertEqual(dom.components(separatedBy: "class=\"card\"").count - 1, 1, "one visible card")
        XCTAssertEqual(dom.components(separatedBy: "class=\"card hidden\"").count - 1, 99)
        XCTAssertTrue(dom.contains("style=\"width: 25%\""), "the progress bar")

        // The search box finds a job of another page by a word of its prompt, from file://.
        let many = dir.appendingPathComponent("many")
        try FileManager.default.createDirectory(at: many, withIntermediateDirectories: true)
        let searched = try SQLiteJobStore(path: many.appendingPathComponent("db.sqlite").path)
        for k in 1...300 {
            var j = Job(name: "job\(k)", mode: "generate", model: "fashion", prompt: k == 7 ? "a zebra coat" : "a bag \(k)", seed: Int64(k),
                        parameters: .edit(Self.request(prompt: "a bag")), inputHash: "h\(k)", folder: many.appendingPathComponent("gallery/jobs/\(k)").path)
            j.state = .done
            _ = try searched.enqueue(j)
        }
        for id: Int64 in [7, 250] { XCTAssertTrue(try searched.setStarred(id, true)) }
        try Gallery(folder: many.appendingPathComponent("gallery").path, store: searched).rebuild()
        let found = try dumpDOM(chromium, many.appendingPathComponent("gallery/index.html").absoluteString + "#q=Zebra")
        let foundCards = found.components(separatedBy: #"<div id="found" class="cards">"#).last?.components(separatedBy: "</div></div>")
        XCTAssertTrue(found.contains("1 of 300 jobs match"), found.suffix(3000).description)
        XCTAssertTrue(foundCards?.first?.contains(#"href="jobs/7/index.html""#) == true, found.suffix(3000).description)
        XCTAssertTrue(found.contains(#"<div class="cards" id="listed" hidden="">"#), "the page's own cards give way to the matches")
        // A number is a whole word (#7 is job 7, not 70–79 or 170), and the filters apply to the matches.
        XCTAssertTrue(try dumpDOM(chromium, many.appendingPathComponent("gallery/index.html").absoluteString + "#q=%237").contains("1 of 300 jobs match"))
        XCTAssertTrue(try dumpDOM(chromium, many.appendingPathComponent("gallery/index.html").absoluteString + "#status=failed&q=zebra").contains("0 of 300 jobs match"))
        // Starred jobs carry a star and the "starred only" box keeps them alone, on the page and among the matches.
        let starred = try dumpDOM(chromium, many.appendingPathComponent("gallery/index.html").absoluteString + "#starred=1")
        XCTAssertEqual(starred.components(separatedBy: "class=\"card\"").count - 1, 1, "job 250 alone on the first page")
        XCTAssertTrue(starred.contains(#"<span class="star" title="starred: kept whatever the retention">★</span> <a href="jobs/250/index.html">"#))
        XCTAssertTrue(starred.contains(#"<input type="checkbox" id="starred""#))
        let starredHits = try dumpDOM(chromium, many.appendingPathComponent("gallery/index.html").absoluteString + "#starred=1&q=bag")
        XCTAssertTrue(starredHits.contains("2 of 300 jobs match"), starredHits.suffix(2000).description)
        XCTAssertTrue(try String(contentsOf: many.appendingPathComponent("gallery/jobs/7/index.html"), encoding: .utf8).contains("★"), "the job page shows the star")
        // Without its index the page says so and shows its own cards again.
        try FileManager.default.removeItem(at: many.appendingPathComponent("gallery/search.js"))
        let missing = try dumpDOM(chromium, many.appendingPathComponent("gallery/index.html").absoluteString + "#q=zebra")
        XCTAssertTrue(missing.contains("search.js) could not be loaded") && missing.contains(#"<div class="cards" id="listed">"#), missing.suffix(2000).description)
    }

    /// The DOM of `url` after Chromium loaded it (scripts run).
    func dumpDOM(_ chromium: String, _ url: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: chromium)
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", url]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        let dom = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitForExit()
        return dom
    }

    func testTheSearchIndexHoldsEveryJobWithWhatASearchMatches() throws {
        let dir = try temporaryFolder(self)
        try Gallery(folder: dir.appendingPathComponent("gallery").path, store: try large(dir)).rebuild()
        let script = try String(contentsOf: dir.appendingPathComponent("gallery/search.js"), encoding: .utf8)
        XCTAssertTrue(script.contains("window.darkroomJobs = ["), script.prefix(200).description)
        let json = String(script.drop { $0 != "[" }.dropLast(2))
        let rows = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[Any]])
        XCTAssertEqual(rows.count, 250, "every job, not one page")
        XCTAssertEqual(rows.first?[0] as? Int, 250, "newest first")
        let text = try XCTUnwrap(rows.first { ($0[0] as? Int) == 123 }?[6] as? String)
        for word in ["job123", "a bag 123", "generate", "fashion", "done", "seed 861", "\"guidance\":5"] { XCTAssertTrue(text.contains(word), "\(word) in \(text)") }
        let index = try String(contentsOf: dir.appendingPathComponent("gallery/index.html"), encoding: .utf8)
        XCTAssertTrue(index.contains(#"<input type="search" id="search""#) && index.contains("s.src = 'search.js'"), "the box loads the index by a script tag")
    }
}
