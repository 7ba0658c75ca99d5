import Foundation
import XCTest
import DarkroomGallery
import DarkroomStore
import DarkroomTestSupport

/// The static gallery: escaping, completeness, and a real browser's rendering.
final class GalleryTests: XCTestCase {
    private func populated(_ dir: URL) throws -> JobStore {
        let store = try JobStore(path: dir.appendingPathComponent("db.sqlite").path)
        let evil = #"<script>alert("pwned")</script> & 'quotes'"#
        for k in 0..<5 {
            var j = JobRecord(name: k == 0 ? "x\"><img src=x onerror=alert(1)>" : "job\(k)", mode: k % 2 == 0 ? "generate" : "sdedit",
                              model: "fashion", prompt: k == 0 ? evil : "a bag", seed: Int64(k), parameters: #"{"prompt":"<b>"}"#,
                              inputHash: "h\(k)", folder: dir.appendingPathComponent("gallery/jobs/\(k + 1)").path)
            j.state = .queued
            _ = try store.enqueue(j)
        }
        let claimed = try XCTUnwrap(try store.claimNext())
        let folder = claimed.folder
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let png = Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAAAAABX3VL4AAAADklEQVR4nGP4z8DA8B8ABfsC/mZ5o4QAAAAASUVORK5CYII=")!
        try png.write(to: URL(fileURLWithPath: folder + "/result.png"))
        try store.finish(claimed.id!, results: [ResultRecord(jobID: 0, kind: .result, path: folder + "/result.png", size: Int64(png.count), step: 1)],
                         timings: ["sample": 0.5])
        let second = try XCTUnwrap(try store.claimNext())
        try store.fail(second.id!, error: "model <exploded>")
        return store
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

    func testChromiumRendersTheIndexAndAJobPage() throws {
        guard let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first(where: FileManager.default.isExecutableFile) else {
            print("skipping the browser check: Chromium is not installed (apt-get install chromium)")
            return
        }
        let dir = try temporaryFolder(self)
        let store = try populated(dir)
        try Gallery(folder: dir.appendingPathComponent("gallery").path, store: store).rebuild()
        for page in ["index.html", "jobs/1/index.html"] {
            let shot = dir.appendingPathComponent("shot-\(page.replacingOccurrences(of: "/", with: "-")).png")
            let p = Process()
            p.executableURL = URL(fileURLWithPath: chromium)
            p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=800,600",
                           "--screenshot=\(shot.path)", dir.appendingPathComponent("gallery/\(page)").absoluteString]
            p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
            p.standardError = FileHandle(forWritingAtPath: "/dev/null")
            try p.run()
            p.waitUntilExit()
            let data = try Data(contentsOf: shot)
            XCTAssertGreaterThan(data.count, 2000, "\(page): screenshot written")
            // Not blank: the PNG of a uniform page compresses to almost nothing; text and cards do not.
            XCTAssertGreaterThan(data.count, 5000, "\(page): screenshot shows content")
        }
    }
}
