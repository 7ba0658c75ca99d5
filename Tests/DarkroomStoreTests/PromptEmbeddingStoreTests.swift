import XCTest
@testable import DarkroomStore

/// Prompt embeddings kept by (encoder, prompt), each test on a fresh database.
final class PromptEmbeddingStoreTests: XCTestCase {
    func testRoundTripAndReplacement() throws {
        let store = try SQLiteJobStore()
        XCTAssertNil(try store.promptEmbedding(encoder: "t5", prompt: "a dog"))
        let values = (0..<12).map { Float($0) * 0.5 - 2.75 }
        try store.savePromptEmbedding(encoder: "t5", prompt: "a dog", StoredEmbedding(shape: [3, 4], values: values))
        XCTAssertEqual(try store.promptEmbedding(encoder: "t5", prompt: "a dog"), StoredEmbedding(shape: [3, 4], values: values))
        // Same prompt, other encoder: a separate entry.
        XCTAssertNil(try store.promptEmbedding(encoder: "other", prompt: "a dog"))
        try store.savePromptEmbedding(encoder: "t5", prompt: "a dog", StoredEmbedding(shape: [2, 2], values: [1, 2, 3, 4]))
        XCTAssertEqual(try store.promptEmbedding(encoder: "t5", prompt: "a dog")?.values, [1, 2, 3, 4])
        XCTAssertEqual(try store.promptEmbeddingKeys().map(\.prompt), ["a dog"])
    }

    func testStoredInTheFileAcrossOpenings() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("darkroom-emb-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        try SQLiteJobStore(path: path).savePromptEmbedding(encoder: "t5", prompt: "", StoredEmbedding(shape: [1, 2], values: [.pi, -0]))
        XCTAssertEqual(try SQLiteJobStore(path: path).promptEmbedding(encoder: "t5", prompt: "")?.values, [.pi, -0])
    }
}
