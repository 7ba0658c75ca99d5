import XCTest
import DarkroomImaging
import DarkroomJobs
import DarkroomTensor
import DarkroomTestSupport

/// A workspace for jobs on the IF-shaped random fixture `if_a` (16×16, text width 24): random prompt embeddings for
/// `prompts` (E = 24), a 40×40 photo and a mask in `inbox/`, and config.json naming the model `tiny-if` with `entry`
/// added to its entry (`, "defaults": …`, `, "upscaler": …`).
func ifWorkspace(_ testCase: XCTestCase, prompts: [String], entry: String = "") throws -> (URL, DarkroomConfig) {
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("DarkroomModelsTests/Fixtures")
    let dir = try temporaryFolder(testCase)
    var rng = RandomSource(seed: 4)
    var embeddings: [String: Tensor] = [:]
    for p in prompts { embeddings[p] = rng.gaussian([77, 24]) }
    try SafeTensorsWriter.write(embeddings, to: dir.appendingPathComponent("embeddings.safetensors").path)
    let inbox = dir.appendingPathComponent("inbox")
    try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
    try PNGWriter.write(rng.uniform([1, 3, 40, 40]), to: inbox.appendingPathComponent("photo.png").path)
    let mask = Tensor(zeros: [1, 1, 40, 40])
    for y in 10..<30 { for x in 10..<30 { mask[0, 0, y, x] = 1 } }
    try PNGWriter.write(mask, to: inbox.appendingPathComponent("mask.png").path)
    let config = """
        {"models": {"tiny-if": {"path": "\(fixtures.path)/if_a", "prompt_embeddings": "embeddings.safetensors"\(entry)}},
         "default_model": "tiny-if"}
        """
    try config.write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
    return (dir, try DarkroomConfig.load(path: dir.appendingPathComponent("config.json").path))
}
