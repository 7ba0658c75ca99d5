import Foundation
import XCTest
import DarkroomJobModel

/// The file-name patterns of config.json's `"ignore"` and the names intake never takes by default.
final class IgnoreRulesTests: XCTestCase {
    func testGlobPatternsMatchWholeNamesAsTheShellDoes() throws {
        let cases: [(String, String, Bool)] = [
            ("*.tmp", "photo.tmp", true), ("*.tmp", "photo.tmp.png", false), ("*.tmp", ".tmp", true),
            ("scan-???.png", "scan-001.png", true), ("scan-???.png", "scan-01.png", false),
            ("[abc]*", "beach.png", true), ("[abc]*", "dune.png", false), ("[!abc]*", "dune.png", true),
            ("[a-c]x", "bx", true), ("[a-c]x", "dx", false), ("~$*", "~$report.docx", true),
            ("\\*", "*", true), ("\\*", "a", false), ("a*b*c", "aXXbYYc", true), ("a*b*c", "aXXbYY", false),
            ("*", "", true), ("**x", "abcx", true), ("[]]", "]", true), ("IMG_*.JPG", "img_1.jpg", false),
        ]
        for (pattern, name, expected) in cases {
            XCTAssertEqual(try GlobPattern(pattern).matches(name), expected, "'\(pattern)' against '\(name)'")
        }
    }

    func testAPatternThatDoesNotParseIsAnErrorNamingIt() {
        for bad in ["[abc", "x\\", "", "[z-a]"] {
            XCTAssertThrowsError(try GlobPattern(bad), bad) { error in
                XCTAssertTrue("\(error)".contains("'\(bad)'"), "\(error)")
            }
        }
    }

    func testTheDefaultsCoverWhatSyncClientsAndOperatingSystemsLeaveBehind() throws {
        let rules = IgnoreRules(patterns: [try GlobPattern("*.bak")])
        for name in [".photo.png.Xa3bC9", ".syncthing.photo.png.tmp", "~syncthing~photo.png.tmp", "._photo.png", ".DS_Store",
                     "photo.png.part", "photo.png.crdownload", "x.tmp", "~$photo.png", "Thumbs.db", "desktop.ini", "old.png.bak"] {
            XCTAssertTrue(rules.ignoresFile(name), name)
        }
        for name in ["photo.png", "photo.jpg", "list.txt", "photo.json", "tmp.png"] { XCTAssertFalse(rules.ignoresFile(name), name) }
        for folder in ["@eaDir", "#recycle", ".stfolder", ".stversions", ".git"] { XCTAssertTrue(rules.ignoresFolder(folder), folder) }
        XCTAssertFalse(rules.ignoresFolder("phone"))
        XCTAssertTrue(IgnoreRules(patterns: []).ignoresFile(".DS_Store"), "config.json's patterns add to the defaults, never replace them")
    }

    func testANameThatIsNotUTF8GetsAUTF8NameThatFitsTheFileSystem() {
        XCTAssertEqual(FolderLayout.utf8Name(raw: Array("caf".utf8) + [0xE9] + Array(".png".utf8)), "caf%E9.png")
        XCTAssertEqual(FolderLayout.utf8Name(raw: Array("100% é".utf8) + [0xFF]), "100%25 é%FF", "UTF-8 runs kept, % escaped")
        XCTAssertEqual(FolderLayout.utf8Name(raw: [0xE9] + Array(".png".utf8), suffix: "-2"), "%E9-2.png")
        let long = FolderLayout.utf8Name(raw: [UInt8](repeating: 0xE9, count: 200) + Array(".jpg".utf8))
        XCTAssertLessThanOrEqual(long.utf8.count, 255)
        XCTAssertTrue(long.hasPrefix("%E9%E9") && long.hasSuffix(".jpg"), long)
        XCTAssertNotEqual(long, FolderLayout.utf8Name(raw: [UInt8](repeating: 0xE9, count: 201) + Array(".jpg".utf8)))
        XCTAssertNotEqual(long, FolderLayout.utf8Name(raw: [UInt8](repeating: 0xE9, count: 200) + Array(".jpg".utf8), suffix: "-2"),
                          "a name shortened with a hash still takes the suffix that tells two apart")
    }
}
