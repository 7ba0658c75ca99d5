import Foundation
import XCTest
import DarkroomJobs
import DarkroomJobModel
import DarkroomSupport
import DarkroomTestSupport

/// config.json's `"notify"` and `"gallery_url"`: targets as written, defaults, and errors that name `notify[N].KEY`.
final class NotifyConfigTests: XCTestCase {
    func config(_ extra: String) throws -> DarkroomConfig {
        let dir = try temporaryFolder(self)
        let path = dir.appendingPathComponent("config.json").path
        try #"{"models": {"tiny": "models/tiny"}\#(extra)}"#.write(toFile: path, atomically: true, encoding: .utf8)
        return try DarkroomConfig.load(path: path, checkFolders: false)
    }

    func testTargetsReadAsWrittenWithDoneAndFailedByDefault() throws {
        let c = try config(#", "gallery_url": "https://photos.example.org/dr", "notify": [{"url": "https://ntfy.sh/topic?auth=SECRET", "format": "ntfy"}, {"url": "http://127.0.0.1:8080/hook", "on": ["rejected", "cancelled", "done"]}, {"command": ["bin/on-done", "--quiet"]}]"#)
        XCTAssertEqual(c.notify.count, 3)
        XCTAssertEqual(c.notify[0].destination, .url(URL(string: "https://ntfy.sh/topic?auth=SECRET")!, .ntfy))
        XCTAssertEqual(c.notify[0].on, [.done, .failed])
        XCTAssertEqual(c.notify[1].destination, .url(URL(string: "http://127.0.0.1:8080/hook")!, .json), "json is the default format")
        XCTAssertEqual(c.notify[1].on, [.rejected, .cancelled, .done])
        guard case .command(let argv) = c.notify[2].destination else { return XCTFail("\(c.notify[2])") }
        XCTAssertTrue(argv[0].hasPrefix("/") && argv[0].hasSuffix("/bin/on-done"), "relative to the config file: \(argv[0])")
        XCTAssertEqual(argv[1], "--quiet")
        XCTAssertEqual(c.galleryURL?.absoluteString, "https://photos.example.org/dr/", "a folder URL, so pages resolve inside it")
        // Logs and status name a URL target by scheme and host only: tokens live in paths, queries and user info.
        XCTAssertEqual(c.notify[0].label, "https://ntfy.sh/… (ntfy)")
        XCTAssertFalse(c.notify.map(\.label).joined().contains("SECRET"))
        XCTAssertFalse(c.notify[0].key.contains("ntfy"), "the database stores a digest, not the URL")
        XCTAssertEqual(Set(c.notify.map(\.key)).count, 3)
        XCTAssertEqual(try config("").notify, [], "no notify: no targets")
    }

    func testABadTargetIsAnErrorNamingItsIndexAndKey() throws {
        let cases: [(String, String)] = [
            (#"{"url": "ftp://example.org/x"}"#, "notify[0].url"),
            (#"{"url": "https://"}"#, "notify[0].url"),
            (#"{"url": "https://example.org", "format": "xml"}"#, "notify[0].format"),
            (#"{"url": "https://example.org", "on": ["finished"]}"#, "notify[0].on"),
            (#"{"url": "https://example.org", "on": []}"#, "notify[0].on"),
            (#"{"url": "https://example.org", "command": ["/bin/true"]}"#, "notify[0].command"),
            (#"{"command": []}"#, "notify[0].command"),
            (#"{"command": ["/bin/true"], "format": "ntfy"}"#, "notify[0].format"),
            (#"{"command": "/bin/true"}"#, "notify[0].command"),
            (#"{"on": ["done"]}"#, "notify[0].url"),
            (#"{"url": "https://example.org", "secret": 1}"#, "notify[0].secret"),
        ]
        for (target, field) in cases {
            XCTAssertThrowsError(try config(#", "notify": [\#(target)]"#), target) { error in
                XCTAssertEqual((error as? JobError)?.field, field, "\(target): \(error)")
            }
        }
        for (extra, field) in [(#", "notify": {"url": "https://example.org"}"#, "notify"), (#", "notify": ["x"]"#, "notify[0]"),
                               (#", "gallery_url": "photos""#, "gallery_url")] {
            XCTAssertThrowsError(try config(extra), extra) { XCTAssertEqual(($0 as? JobError)?.field, field, "\($0)") }
        }
    }
}
