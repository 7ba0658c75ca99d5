import Foundation
import XCTest
import DarkroomText
import DarkroomTestSupport

/// The tokenizers give the ids sentencepiece and transformers give, on 5,000 hostile strings and three models trained
/// by `scripts/reference/make_tokenizer_fixtures.py` (nmt_nfkc, nmt_nfkc with byte fallback, identity).
final class TokenizerParityTests: XCTestCase {
    struct Cases: Decodable {
        struct Ids: Decodable { let spm: [[Int]]; let t5: [[Int]] }
        let strings: [String]
        let models: [String: Ids]
    }

    static let cases: Cases = {
        let data = FileManager.default.contents(atPath: Fixtures.path("tokenizer_cases.json"))!
        return try! JSONDecoder().decode(Cases.self, from: data)
    }()

    func check(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let path = Fixtures.path("spm_\(name).model")
        let sentencePiece = try SentencePieceProcessor(path: path)
        let t5 = try T5Tokenizer(path: path)
        let cases = TokenizerParityTests.cases
        let expected = try XCTUnwrap(cases.models[name])
        XCTAssertEqual(cases.strings.count, 5000)
        var spmMismatches: [String] = [], t5Mismatches: [String] = []
        for (i, s) in cases.strings.enumerated() {
            let ours = sentencePiece.encode(s)
            if ours != expected.spm[i] { spmMismatches.append("\(s.debugDescription): \(ours) ≠ \(expected.spm[i])") }
            let (ids, tokens, truncated) = t5.encodeForT5(s)
            if Array(ids.prefix(tokens)) != expected.t5[i] { t5Mismatches.append("\(s.debugDescription): \(ids.prefix(tokens)) ≠ \(expected.t5[i])") }
            XCTAssertEqual(ids.count, 77)
            XCTAssertEqual(truncated, t5.encode(s).count > 77)
        }
        XCTAssertTrue(spmMismatches.isEmpty, "\(name): sentencepiece differs on \(spmMismatches.count) strings, e.g.\n\(spmMismatches.prefix(5).joined(separator: "\n"))", file: file, line: line)
        XCTAssertTrue(t5Mismatches.isEmpty, "\(name): T5Tokenizer differs on \(t5Mismatches.count) strings, e.g.\n\(t5Mismatches.prefix(5).joined(separator: "\n"))", file: file, line: line)
    }

    func testNFKCModelMatchesSentencePieceAndTransformers() throws { try check("nfkc") }
    func testByteFallbackModelMatchesSentencePieceAndTransformers() throws { try check("bytes") }
    func testIdentityModelMatchesSentencePieceAndTransformers() throws { try check("identity") }
}
