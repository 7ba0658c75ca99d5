import Foundation
import XCTest
import DarkroomImaging
import DarkroomJobModel
import DarkroomTestSupport

/// Files today's clients make that intake once refused or never saw: names that are not UTF-8 (renamed and taken),
/// and CMYK and YCCK JPEGs (read as Pillow reads them).
final class ForeignFileTests: DaemonTestCase {
    /// Writes `data` at `folder/<raw bytes>`, a name no `String` can hold.
    func write(_ data: Data, in folder: URL, raw: [UInt8]) throws {
        let path = Array(folder.path.utf8) + [UInt8(ascii: "/")] + raw + [0]
        let fd = path.withUnsafeBufferPointer { p in
            p.baseAddress!.withMemoryRebound(to: CChar.self, capacity: p.count) { open($0, O_WRONLY | O_CREAT | O_EXCL, 0o644) }
        }
        XCTAssertGreaterThanOrEqual(fd, 0)
        _ = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    func testANameThatIsNotUTF8IsRenamedLoggedAndTaken() throws {
        let dir = try workspace(extra: PresetFolderTests.presets)
        let inbox = dir.appendingPathComponent("inbox"), log = dir.appendingPathComponent("watch.log")
        try FileManager.default.createDirectory(at: inbox.appendingPathComponent("ladder"), withIntermediateDirectories: true)
        let cafe = Array("caf".utf8) + [0xE9]
        let photo = try pngData(seed: 1), other = try pngData(seed: 2)
        try write(photo, in: inbox, raw: cafe + Array(".png".utf8))
        try write(Data(#"{"mode": "sdedit", "prompt": "cat", "noise_levels": [1]}"#.utf8), in: inbox, raw: cafe + Array(".json".utf8))
        try write(other, in: inbox.appendingPathComponent("ladder"), raw: [0xFF, 0xFE] + Array(" scan.png".utf8))
        // A client's temporary with such a name is the client's business until it renames it.
        try write(other, in: inbox, raw: [UInt8(ascii: ".")] + cafe + Array(".png.Xa81c".utf8))
        XCTAssertEqual(try runOnce(dir, log: log), 0)
        // A second run finds nothing left: each renamed file became exactly one job.
        XCTAssertEqual(try runOnce(dir, log: dir.appendingPathComponent("second.log")), 0)
        let jobs = try store(dir).jobs().sorted { $0.name < $1.name }
        XCTAssertEqual(jobs.map(\.name), ["%FF%FE scan", "caf%E9"])
        XCTAssertEqual(jobs.map(\.state), [.done, .done], jobs.map { $0.error ?? "" }.joined())
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: jobs[1].folder).appendingPathComponent("inputs/caf%E9.png")), photo)
        XCTAssertEqual(jobs[0].preset, "ladder")
        let text = try String(contentsOf: log, encoding: .utf8)
        XCTAssertTrue(text.contains("renamed 'caf%E9.png' to 'caf%E9.png': its name was not UTF-8 (bytes 63 61 66 e9 2e 70 6e 67)"), text)
        XCTAssertEqual(FileManager.default.enumerator(atPath: inbox.path)?.compactMap { $0 as? String }.filter { $0.hasPrefix(".caf") }.count, 1,
                       "the temporary is left alone")
    }

    func testCMYKAndYCCKJPEGsFromAdobeBecomeJobs() throws {
        let dir = try workspace()
        let inbox = dir.appendingPathComponent("inbox")
        for stem in ["cmyk", "ycck"] {
            let source = Fixtures.path("pillow/\(stem).jpg", testFile: #filePath.replacingOccurrences(of: "DarkroomDaemonTests/ForeignFileTests.swift", with: "DarkroomImagingTests/PillowParityTests.swift"))
            try drop(try Data(contentsOf: URL(fileURLWithPath: source)), inbox.appendingPathComponent("\(stem).jpg"))
            try drop(#"{"mode": "sdedit", "prompt": "dog", "noise_levels": [1]}"#, inbox.appendingPathComponent("\(stem).json"))
        }
        XCTAssertEqual(try runOnce(dir), 0)
        let jobs = try store(dir).jobs()
        XCTAssertEqual(jobs.map(\.state), [.done, .done], jobs.map { $0.error ?? "" }.joined())
        for job in jobs {
            // The model saw the picture (gray from Pillow's RGB), not a flat page.
            let seen = try ImageDecoder.read(path: job.folder + "/" + JobFiles.inputCopy, channels: 1)
            let mean = seen.scalars.reduce(0, +) / Float(seen.count)
            let spread = seen.scalars.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(seen.count)
            XCTAssertGreaterThan(spread, 0.001, job.name)
        }
    }
}
