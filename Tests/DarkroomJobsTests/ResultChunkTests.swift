import Foundation
import XCTest
import DarkroomImaging
import DarkroomJobModel
import DarkroomJobs
import DarkroomTensor
import DarkroomTestSupport

/// The `darkroom` chunk of a result PNG carries a job exactly, whatever its prompt, and older results still read.
final class ResultChunkTests: XCTestCase {
    func testAnyPromptSurvivesTheLatin1ChunkExactly() throws {
        var request = EditRequest(mode: .anagram)
        request.prompts = ["一只猫 🐱", "ein Hund — \"quoted\"\n"]
        request.seed = 77
        let chunk = ResultChunk(request: request, model: "fashion", image: nil, mask: nil)
        let text = try chunk.text()
        XCTAssertTrue(text.unicodeScalars.allSatisfy(\.isASCII), text)
        let dir = try temporaryFolder(self)
        let path = dir.appendingPathComponent("r.png").path
        try PNGWriter.write(Tensor(zeros: [1, 1, 4, 4]), to: path, text: [(ResultChunk.keyword, text)])
        XCTAssertEqual(try ResultChunk.read(pngAt: path), chunk)
        XCTAssertEqual(try chunk.text(), text, "the same job writes the same bytes")
    }

    func testAResultWrittenBeforeTheModelWasRecordedReadsItFromItsParameters() throws {
        let dir = try temporaryFolder(self)
        let path = dir.appendingPathComponent("old.png").path
        try PNGWriter.write(Tensor(zeros: [1, 1, 4, 4]), to: path, text: [
            ("parameters", "a coat\nStride: 10, CFG scale: 3.0, Seed: 5, Size: 28x28, Model: fashion, Mode: sdedit"),
            ("darkroom", #"{"mode":"sdedit","prompt":"a coat","seed":5,"stride":10,"noiseLevels":[3],"t":[],"prompts":[],"guidance":3,"count":1,"view":"flip","weight":0.5,"blurKernel":5,"blurSigma":2,"hybridKernel":33,"hybridSigma":2,"frameEvery":0}"#),
        ])
        let chunk = try ResultChunk.read(pngAt: path)
        XCTAssertEqual(chunk.model, "fashion")
        XCTAssertEqual(chunk.request.noiseLevels, [3])
        XCTAssertNil(chunk.image)
    }
}
