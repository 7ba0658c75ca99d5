import Foundation
import XCTest
import DarkroomModels
import DarkroomTensor
import DarkroomText
import DarkroomTestSupport

/// The T5 encoder matches transformers' T5EncoderModel on random encoders made by
/// `scripts/reference/make_t5_fixtures.py`: one file and shards, fp32, fp16 and bf16 weights, prompts of every length.
final class T5EncoderParityTests: XCTestCase {
    func check(_ name: String, expectHalf: Bool) throws {
        let folder = Fixtures.path(name)
        let location = try XCTUnwrap(T5TextEncoder.Location.find(in: folder))
        let text = try T5TextEncoder(location)
        XCTAssertEqual(text.encoder.isHalf, expectHalf, "\(name): 16-bit weights stay 16-bit")
        let io = try Fixtures.open("\(name)/io.safetensors")
        let prompts = try JSONDecoder().decode([String].self, from: Data(try XCTUnwrap(io.metadata["prompts"]).utf8))
        let ids = try io.int64Values("ids"), mask = try io.int64Values("mask")
        let expected = try io.tensor("out")
        let d = text.encoder.config.dModel
        for (p, prompt) in prompts.enumerated() {
            let (ours, tokens, _) = T5TextEncoder.tokens(prompt, tokenizer: text.tokenizer)
            XCTAssertEqual(ours, ids[(p * 77)..<((p + 1) * 77)].map(Int.init), "\(name) prompt \(p): token ids")
            XCTAssertEqual(tokens, Int(mask[(p * 77)..<((p + 1) * 77)].reduce(0, +)), "\(name) prompt \(p): attended tokens")
            var layers = 0
            let out = try text.embed(prompt) { done, total in layers = done; XCTAssertEqual(total, text.encoder.config.layers) }
            XCTAssertEqual(layers, text.encoder.config.layers, "progress reaches every block")
            let want = Tensor(shape: [77, d], storage: TensorStorage(borrowing: expected.pointer + p * 77 * d, count: 77 * d, owner: expected.storage))
            var largest: Float = 0
            for i in 0..<want.count { largest = max(largest, abs(want.pointer[i])) }
            assertClose(out, want, tolerance: 1e-4 * largest, "\(name) prompt \(p) (\(prompt.prefix(30)))")
        }
    }

    func testFP32SingleFileMatchesTransformers() throws { try check("t5_a", expectHalf: false) }
    func testFP32ShardsWithLogarithmicBucketsMatchTransformers() throws { try check("t5_b", expectHalf: false) }
    func testFP16VariantMatchesTransformers() throws { try check("t5_c", expectHalf: true) }
    func testBF16ShardsMatchTransformers() throws { try check("t5_d", expectHalf: true) }

    func testAMissingShardOrUnimplementedConfigNamesTheFileOrKey() throws {
        let dir = try temporaryFolder(self)
        let copy = dir.appendingPathComponent("t5").path
        try FileManager.default.copyItem(atPath: Fixtures.path("t5_b"), toPath: copy)
        let encoder = (copy as NSString).appendingPathComponent("text_encoder")
        try FileManager.default.removeItem(atPath: (encoder as NSString).appendingPathComponent("model-00003-of-00006.safetensors"))
        XCTAssertThrowsError(try T5Encoder(folder: encoder)) { error in
            XCTAssertTrue("\(error)".contains("model-00003-of-00006.safetensors: missing"), "\(error)")
        }
        let configPath = (encoder as NSString).appendingPathComponent("config.json")
        var config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath))) as? [String: Any])
        config["feed_forward_proj"] = "relu"
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
        XCTAssertThrowsError(try T5Encoder(folder: encoder)) { error in
            XCTAssertTrue("\(error)".contains("key 'feed_forward_proj'"), "\(error)")
        }
        XCTAssertNil(T5TextEncoder.Location.find(in: dir.path), "no tokenizer/ and text_encoder/ here")
    }

    func testEncodersWithDifferentWeightsHaveDifferentCacheNames() throws {
        let a = try XCTUnwrap(T5TextEncoder.Location.find(in: Fixtures.path("t5_a"))).identity()
        let c = try XCTUnwrap(T5TextEncoder.Location.find(in: Fixtures.path("t5_c"))).identity()
        XCTAssertNotEqual(a, c)
        XCTAssertTrue(a.hasPrefix("t5-d24-l2-"), a)
        XCTAssertEqual(a, try XCTUnwrap(T5TextEncoder.Location.find(in: Fixtures.path("t5_a"))).identity(), "stable")
    }
}

/// Encoding through the prompt store: what is encoded is cached, and a stop between blocks keeps nothing half-made.
final class PromptEncodingStoreTests: XCTestCase {
    func testAStopBetweenBlocksThrowsAndCachesNothingAndTheNextCallEncodes() throws {
        let location = try XCTUnwrap(T5TextEncoder.Location.find(in: Fixtures.path("t5_a")))
        let prompts = try PromptEmbeddings(path: "/nonexistent/prompts.safetensors", width: 24, textEncoder: location)
        var asked = 0
        XCTAssertThrowsError(try prompts.encodeMissing(["a photo of a dog"], shouldStop: { asked += 1; return asked > 1 })) { error in
            XCTAssertTrue(error is EncodingInterrupted, "\(error)")
        }
        XCTAssertEqual(asked, 2, "asked before each block: stopped before the second")
        var blocks: [Int] = []
        XCTAssertEqual(try prompts.encodeMissing(["a photo of a dog", "A PHOTO OF A DOG "], progress: { blocks.append($0.block) }), ["a photo of a dog"],
                       "one prompt as the pipeline reads it")
        XCTAssertEqual(blocks, [1, 2])
        XCTAssertEqual(try prompts.encodeMissing(["a photo of a dog"]), [], "known now: nothing to encode")
        XCTAssertEqual(try prompts.check("a photo of a dog"), nil, "short prompts need no note")
    }
}

/// A failing cache lookup is reported and leaves the store usable (its lock released).
final class PromptLookupFailureTests: XCTestCase {
    final class FailingCache: PromptEmbeddingCache {
        var fail = true
        func embedding(encoder: String, prompt: String) throws -> Tensor? {
            if fail { throw ModelError.badInput("database unavailable") }
            return nil
        }
        func store(encoder: String, prompt: String, embedding: Tensor) throws {}
    }

    func testALookupThatThrowsDoesNotLeaveTheStoreLocked() throws {
        let location = try XCTUnwrap(T5TextEncoder.Location.find(in: Fixtures.path("t5_a")))
        let cache = FailingCache()
        let prompts = try PromptEmbeddings(path: "/nonexistent/p.safetensors", width: 24, cache: cache, textEncoder: location)
        XCTAssertThrowsError(try prompts.embedding(for: "a photo of a dog")) { XCTAssertTrue("\($0)".contains("database unavailable")) }
        cache.fail = false
        let done = expectation(description: "the next lookup returns")
        nonisolated(unsafe) let shared = prompts   // used by the one other thread only, while this one waits
        DispatchQueue.global().async {
            XCTAssertEqual((try? shared.embedding(for: "a photo of a dog"))?.shape, [77, 24])
            done.fulfill()
        }
        wait(for: [done], timeout: 20)
    }

    func testAConfigOverTheWrongFilesIsAnErrorWithoutFullSizePlaceholders() throws {
        // XXL's config over a tiny encoder's weights: every tensor misshaped; the error lists them, no 19 GB allocated.
        var config = T5Config(dModel: 4096, dKV: 64, heads: 64, dFF: 10240, layers: 24, vocabularySize: 32128)
        config.buckets = 32
        let weights = try SafeTensorsFile(path: Fixtures.path("t5_a/text_encoder/model.safetensors"))
        XCTAssertThrowsError(try T5Encoder(config: config, weights: weights)) { error in
            XCTAssertTrue("\(error)".contains("shared.weight is [928, 24], expected [32128, 4096]"), "\(error)")
        }
    }
}
