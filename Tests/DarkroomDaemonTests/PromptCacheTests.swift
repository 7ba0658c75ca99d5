import XCTest
import DarkroomDaemon
import DarkroomModels
import DarkroomStore
import DarkroomTensor
import DarkroomTestSupport

/// The daemon keeps the prompt embeddings jobs use in its database, so they outlive the embedding file.
final class PromptCacheTests: XCTestCase {
    func testUsedEmbeddingsAreCachedByEncoderAndPrompt() throws {
        let dir = try temporaryFolder(self)
        let file = dir.appendingPathComponent("prompts.safetensors").path
        var rng = RandomSource(seed: 2)
        let dog = rng.gaussian([77, 8]), empty = rng.gaussian([77, 8])
        try SafeTensorsWriter.write(["a photo of a dog": dog, "": empty], metadata: ["encoder": "tiny-t5"], to: file)
        let store = try SQLiteJobStore()
        let cache = StoredPromptEmbeddings(store: store)

        let prompts = try PromptEmbeddings(path: file, width: 8, cache: cache)
        XCTAssertEqual(prompts.available, ["", "a photo of a dog"])
        XCTAssertEqual(try prompts.embedding(for: "  A Photo of a Dog ").scalars, dog.scalars, "matched as the pipeline lowercases and strips")
        XCTAssertEqual(try store.promptEmbeddingKeys().map { "\($0.encoder)|\($0.prompt)" }, ["tiny-t5|a photo of a dog"],
                       "only what a job used is stored")

        // The file is gone: the cached prompt still works, the others are reported missing.
        try FileManager.default.removeItem(atPath: file)
        let later = try PromptEmbeddings(path: file, width: 8, encoder: "tiny-t5", cache: cache)
        XCTAssertEqual(try later.embedding(for: "a photo of a dog").scalars, dog.scalars)
        XCTAssertThrowsError(try later.embedding(for: "a photo of a cat")) { error in
            XCTAssertTrue("\(error)".contains("darkroom encode --model"), "\(error)")
        }
    }

    func testEmbeddingsOfTheWrongWidthAreRefused() throws {
        let dir = try temporaryFolder(self)
        let file = dir.appendingPathComponent("prompts.safetensors").path
        try SafeTensorsWriter.write(["x": Tensor(zeros: [77, 16])], to: file)
        XCTAssertThrowsError(try PromptEmbeddings(path: file, width: 8)) { error in
            XCTAssertTrue("\(error)".contains("[77, 16]"), "\(error)")
        }
    }
}
