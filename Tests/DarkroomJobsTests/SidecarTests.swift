import XCTest
import DarkroomDiffusion
import DarkroomJobs
import DarkroomSupport

/// Every sidecar validation rule rejects with a message naming the field.
final class SidecarTests: XCTestCase {
    private func parse(_ json: String) throws -> Sidecar { try Sidecar(json: Data(json.utf8)) }

    private func expectRejected(_ json: String, field: String?, mentioning words: String = "", line: UInt = #line) {
        XCTAssertThrowsError(try parse(json), line: line) { error in
            guard let e = error as? JobError else { return XCTFail("\(error)", line: line) }
            XCTAssertEqual(e.field, field, "\(e)", line: line)
            XCTAssertTrue(words.isEmpty || e.description.contains(words), "\(e) should mention \(words)", line: line)
        }
    }

    func testValidSidecarsForEveryMode() throws {
        XCTAssertEqual(try parse(#"{}"#).resolvedMode, .generate)
        XCTAssertEqual(try parse(#"{"prompt": "a sneaker", "count": 4, "seed": 7}"#).seed, 7)
        let sd = try parse(#"{"mode": "sdedit", "image": "a.png", "noise_levels": [1, 3, 5], "prompt": "a coat"}"#)
        XCTAssertEqual(sd.noiseLevels, [1, 3, 5])
        XCTAssertEqual(try parse(#"{"mode": "sdedit", "noise_level": 4}"#).noiseLevels, [4])
        XCTAssertEqual(try parse(#"{"mode": "noise", "t": 250}"#).t, [250])
        XCTAssertEqual(try parse(#"{"mode": "inpaint", "mask": "m.png"}"#).mask, "m.png")
        XCTAssertEqual(try parse(#"{"mode": "anagram", "prompts": ["a", "b"], "view": "rotate90", "weight": 0.6}"#).view, .rotate90)
        XCTAssertEqual(try parse(#"{"mode": "hybrid", "prompts": ["a", "b"], "guidance": 7.5}"#).guidance, 7.5)
    }

    func testUnknownFieldsAndWrongTypes() {
        expectRejected(#"{"colour": "red"}"#, field: "colour", mentioning: "unknown field")
        expectRejected(#"{"mode": "paint"}"#, field: "mode", mentioning: "unknown mode")
        expectRejected(#"{"count": "4"}"#, field: "count", mentioning: "integer")
        expectRejected(#"{"count": 2.5}"#, field: "count", mentioning: "integer")
        expectRejected(#"{"seed": true}"#, field: "seed", mentioning: "integer")
        expectRejected(#"{"prompt": 3}"#, field: "prompt", mentioning: "string")
        expectRejected(#"{"guidance": "high"}"#, field: "guidance", mentioning: "number")
        expectRejected(#"[1, 2]"#, field: nil, mentioning: "JSON object")
        expectRejected(#"{"mode": "anagram", "prompts": "a|b"}"#, field: "prompts", mentioning: "list")
    }

    func testOutOfRangeValues() {
        expectRejected(#"{"count": 0}"#, field: "count", mentioning: "1…64")
        expectRejected(#"{"count": 1000}"#, field: "count")
        expectRejected(#"{"guidance": -1}"#, field: "guidance")
        expectRejected(#"{"seed": -5}"#, field: "seed")
        expectRejected(#"{"mode": "sdedit", "strength": 1.5}"#, field: "strength")
        expectRejected(#"{"mode": "sdedit", "strength": 0}"#, field: "strength")
        expectRejected(#"{"mode": "noise", "t": [0]}"#, field: "t")
        expectRejected(#"{"mode": "noise", "t": []}"#, field: "t", mentioning: "empty")
        expectRejected(#"{"stride": 0}"#, field: "stride")
        expectRejected(#"{"mode": "anagram", "prompts": ["a", "b"], "weight": 2}"#, field: "weight")
        expectRejected(#"{"mode": "anagram", "prompts": ["a", "b"], "view": "sideways"}"#, field: "view", mentioning: "flip")
    }

    func testPathsMustStayInTheInbox() {
        expectRejected(#"{"mode": "sdedit", "image": "/etc/passwd"}"#, field: "image", mentioning: "absolute")
        expectRejected(#"{"mode": "sdedit", "image": "../secret.png"}"#, field: "image", mentioning: "..")
        expectRejected(#"{"mode": "inpaint", "image": "a.png", "mask": "x/../../m.png"}"#, field: "mask", mentioning: "..")
        expectRejected(#"{"mode": "sdedit", "image": ""}"#, field: "image", mentioning: "empty")
        expectRejected(#"{"mode": "sdedit", "image": "\u0000"}"#, field: "image", mentioning: "NUL")
        expectRejected(#"{"mode": "sdedit", "image": "."}"#, field: "image", mentioning: "name a file")
        expectRejected(#"{"mode": "sdedit", "image": "sub/"}"#, field: "image", mentioning: "name a file")
        expectRejected(#"{"mode": "sdedit", "image": "rejected"}"#, field: "image", mentioning: "Darkroom's own folder")
        expectRejected(#"{"mode": "sdedit", "image": "duplicates/a.png"}"#, field: "image", mentioning: "Darkroom's own folder")
        expectRejected(#"{"mode": "sdedit", "image": ".photo.tmp"}"#, field: "image", mentioning: "dotfile")
        expectRejected(#"{"mode": "sdedit", "image": "a.part"}"#, field: "image", mentioning: "partial")
        expectRejected(#"{"mode": "sdedit", "image": "b.json"}"#, field: "image", mentioning: "sidecar")
        expectRejected(#"{"mode": "inpaint", "image": "a.png", "mask": "sub/.m.png"}"#, field: "mask", mentioning: "dotfile")
        expectRejected(#"{"mode": "sdedit", "image": "\#(String(repeating: "n", count: 300)).png"}"#, field: "image", mentioning: "255 bytes")
        XCTAssertEqual(try parse(#"{"mode": "sdedit", "image": "./sub/a.png"}"#).image, "sub/a.png")
        XCTAssertEqual(try parse(#"{"mode": "sdedit", "image": "index.html"}"#).image, "index.html")
    }

    func testLimitsNameTheFieldAndQuoteOnlyAPrefix() {
        let huge = String(repeating: "p", count: 1_001)
        expectRejected(#"{"prompt": "\#(huge)"}"#, field: "prompt", mentioning: "limit is 1000")
        expectRejected(#"{"mode": "hybrid", "prompts": ["a", "\#(huge)"]}"#, field: "prompts")
        expectRejected(#"{"mode": "noise", "t": [\#((1...65).map(String.init).joined(separator: ","))]}"#, field: "t", mentioning: "limit is 64")
        expectRejected(#"{"mode": "sdedit", "noise_levels": [\#(Array(repeating: "1", count: 65).joined(separator: ","))]}"#, field: "noise_levels")
        expectRejected(#"{"mode": "sdedit", "noise_level": 1e400}"#, field: "noise_level", mentioning: "double")
        expectRejected(#"{"prompt": "x", "guidance": -1e999}"#, field: "guidance", mentioning: "double")
        expectRejected(#"{"prompt": "\#(String(repeating: "a", count: 70_000))"}"#, field: nil, mentioning: "limit is 65536")
        XCTAssertThrowsError(try parse(#"{"\#(huge)": 1}"#)) { XCTAssertLessThan("\($0)".count, 400) }
        XCTAssertThrowsError(try parse(#"{"mode": "\#(huge)"}"#)) { XCTAssertLessThan("\($0)".count, 400) }
        XCTAssertEqual(JobError.quote("a\u{0}b"), "a\\u0000b")
    }

    func testFieldsThatDoNotFitTheMode() {
        expectRejected(#"{"image": "a.png"}"#, field: "mode", mentioning: "required")
        expectRejected(#"{"mode": "generate", "image": "a.png"}"#, field: "image")
        expectRejected(#"{"mode": "inpaint"}"#, field: "mask", mentioning: "needs a mask")
        expectRejected(#"{"mode": "sdedit", "mask": "m.png"}"#, field: "mask")
        expectRejected(#"{"mode": "anagram"}"#, field: "prompts", mentioning: "two prompts")
        expectRejected(#"{"mode": "anagram", "prompts": ["a", "b", "c"]}"#, field: "prompts", mentioning: "exactly two")
        expectRejected(#"{"prompts": ["a", "b"]}"#, field: "prompts")
        expectRejected(#"{"t": [10]}"#, field: "t")
        expectRejected(#"{"mode": "sdedit", "noise_level": 1, "strength": 0.5}"#, field: "strength", mentioning: "only one")
        expectRejected(#"{"noise_levels": [1]}"#, field: "noise_levels")
        expectRejected(#"{"stride": 3, "steps": 10}"#, field: "steps")
        expectRejected(#"{"view": "flip"}"#, field: "view")
    }
}
