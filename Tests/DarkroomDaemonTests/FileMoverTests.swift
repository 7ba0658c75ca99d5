import Foundation
import XCTest
import DarkroomDaemon
import DarkroomJobs
import DarkroomTestSupport
import DarkroomJobModel
import DarkroomSupport

/// Moves between folder descriptors: never a replaced file, never a name over 255 bytes, never a swapped file.
final class FileMoverTests: XCTestCase {
    func testATakenNameGetsANumberAndNothingIsReplaced() throws {
        let dir = try temporaryFolder(self)
        let a = dir.appendingPathComponent("a"), b = dir.appendingPathComponent("b")
        for f in [a, b] { try FileManager.default.createDirectory(at: f, withIntermediateDirectories: true) }
        try Data("old".utf8).write(to: b.appendingPathComponent("x.png"))
        try Data("new".utf8).write(to: a.appendingPathComponent("x.png"))
        let source = try FolderHandle(path: a.path), target = try FolderHandle(path: b.path)
        XCTAssertEqual(try FileMover.move("x.png", from: source, to: target), "x-1.png")
        XCTAssertEqual(try Data(contentsOf: b.appendingPathComponent("x.png")), Data("old".utf8))
        XCTAssertEqual(try Data(contentsOf: b.appendingPathComponent("x-1.png")), Data("new".utf8))
    }

    func testLongNamesStayWithinTheFileSystemLimit() throws {
        let dir = try temporaryFolder(self)
        let folder = try FolderHandle(path: dir.path)
        let long = String(repeating: "é", count: 125) + ".json"  // 255 bytes
        _ = FileManager.default.createFile(atPath: dir.appendingPathComponent(long).path, contents: Data())
        let free = FileMover.freeName(long, in: folder)
        XCTAssertLessThanOrEqual(free.utf8.count, 255)
        XCTAssertTrue(free.hasSuffix("-1.json"), free)
        XCTAssertTrue(FileManager.default.createFile(atPath: dir.appendingPathComponent(free).path, contents: Data()))
        let stem = FolderLayout.noteStem(String(repeating: "ü", count: 127))
        XCTAssertLessThanOrEqual(stem.utf8.count, FolderLayout.maxNoteStemBytes)
        XCTAssertNotEqual(stem, FolderLayout.noteStem(String(repeating: "ü", count: 126) + "x"), "different names, different notes")
    }

    func testAFileSwappedAfterReadingIsNotTaken() throws {
        let dir = try temporaryFolder(self)
        let a = dir.appendingPathComponent("a"), b = dir.appendingPathComponent("b")
        for f in [a, b] { try FileManager.default.createDirectory(at: f, withIntermediateDirectories: true) }
        try Data("mine".utf8).write(to: a.appendingPathComponent("x.png"))
        let source = try FolderHandle(path: a.path), target = try FolderHandle(path: b.path)
        let (_, entry) = try source.read("x.png", limit: 100)
        try FileManager.default.removeItem(at: a.appendingPathComponent("x.png"))
        try FileManager.default.createSymbolicLink(atPath: a.appendingPathComponent("x.png").path, withDestinationPath: "/etc/hostname")
        XCTAssertThrowsError(try FileMover.move("x.png", from: source, to: target, expect: entry))
        XCTAssertNotNil(try? FileManager.default.destinationOfSymbolicLink(atPath: a.appendingPathComponent("x.png").path), "left in place")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: b.path), [])
    }

    func testReadRefusesLinksFIFOsAndFolders() throws {
        let dir = try temporaryFolder(self)
        let folder = try FolderHandle(path: dir.path)
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("l").path, withDestinationPath: "/etc/hostname")
        XCTAssertEqual(mkfifo(dir.appendingPathComponent("f").path, 0o644), 0)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("d"), withIntermediateDirectories: true)
        for (name, word) in [("l", "symbolic link"), ("f", "FIFO"), ("d", "folder")] {
            XCTAssertThrowsError(try folder.read(name, limit: 100, field: "image")) { error in
                XCTAssertEqual((error as? JobError)?.field, "image")
                XCTAssertTrue("\(error)".contains(word), "\(error)")
            }
        }
    }
}
