import Foundation
import XCTest
import DarkroomText
import DarkroomTestSupport

/// What the tokenizers do with files they cannot use and prompts past T5's 77 tokens.
final class TokenizerFileTests: XCTestCase {
    func testATruncatedOrForeignModelFileIsAnErrorNamingIt() throws {
        let dir = try temporaryFolder(self)
        let original = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("spm_nfkc.model")))
        for (name, bytes) in [("truncated.model", original.prefix(original.count / 2)), ("json.model", Data("{\"a\": 1}".utf8)),
                              ("empty.model", Data())] {
            let path = dir.appendingPathComponent(name).path
            try bytes.write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try T5Tokenizer(path: path), name) { error in
                XCTAssertTrue("\(error)".hasPrefix(path), "\(error)")
                XCTAssertTrue("\(error)".contains("SentencePiece model"), "\(error)")
            }
        }
        XCTAssertThrowsError(try SentencePieceProcessor(path: dir.appendingPathComponent("absent.model").path)) { error in
            XCTAssertTrue("\(error)".contains("absent.model: no SentencePiece model here"), "\(error)")
        }
    }

    func testLongPromptsKeepSeventySixPiecesAndTheEndToken() throws {
        let t5 = try T5Tokenizer(path: Fixtures.path("spm_nfkc.model"))
        let prompt = Array(repeating: "an oil painting of a snowy mountain village", count: 12).joined(separator: " ")
        let full = t5.encode(prompt)
        XCTAssertGreaterThan(full.count, 77)
        let (ids, tokens, truncated) = t5.encodeForT5(prompt)
        XCTAssertTrue(truncated)
        XCTAssertEqual(tokens, 77)
        XCTAssertEqual(Array(ids.prefix(76)), Array(full.prefix(76)))
        XCTAssertEqual(ids[76], t5.endID)

        let short = t5.encodeForT5("a photo of a dog")
        XCTAssertFalse(short.truncated)
        XCTAssertEqual(short.ids[short.tokens - 1], t5.endID)
        XCTAssertEqual(Array(short.ids[short.tokens...]), Array(repeating: t5.padID, count: 77 - short.tokens))
        XCTAssertEqual(t5.encodeForT5("").ids, [t5.endID] + Array(repeating: t5.padID, count: 76), "\"\" is </s> and padding")
    }

    func testExtraIdsAreNumberedAfterThePiecesInReverse() throws {
        let t5 = try T5Tokenizer(path: Fixtures.path("spm_nfkc.model"))
        let pieces = t5.model.pieces.count
        XCTAssertEqual(t5.vocabularySize, pieces + 100)
        XCTAssertEqual(t5.encode("<extra_id_0>"), [pieces + 99, t5.endID])
        XCTAssertEqual(t5.encode("<extra_id_99>"), [pieces, t5.endID])
        XCTAssertEqual(t5.piece(pieces + 99), "<extra_id_0>")
    }
}

/// Hostile model files: a varint past any Int, and a piece type out of range, are errors, never traps.
final class TokenizerHostileFileTests: XCTestCase {
    func testHugeVarintsAndUnknownPieceTypesAreErrors() throws {
        let dir = try temporaryFolder(self)
        // Field 2 (trainer_spec) holding field 3 (model_type) = 2^63 + 1: ten varint bytes.
        let huge: [UInt8] = [0x18, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]
        let trainer: [UInt8] = [0x12, UInt8(huge.count)] + huge
        // A piece "a" with type 99.
        let piece: [UInt8] = [0x0A, 0x05, 0x0A, 0x01, 0x61, 0x18, 0x63]
        for (name, bytes) in [("huge.model", trainer), ("type.model", piece)] {
            let path = dir.appendingPathComponent(name).path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try SentencePieceModel(path: path), name) { error in
                XCTAssertTrue("\(error)".contains("corrupt or truncated protobuf"), "\(error)")
            }
        }
    }
}
