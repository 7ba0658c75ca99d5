import XCTest
import DarkroomImaging
import DarkroomTensor
import DarkroomTestSupport

/// GIFs decoded back with giflib give the frames and palette written.
final class GIFTests: XCTestCase {
    func testGrayFramesRoundTripExactly() throws {
        let path = try temporaryFolder(self).appendingPathComponent("g.gif").path
        let frames = (0..<5).map { k -> Tensor in
            let t = Tensor(zeros: [1, 1, 6, 10])
            for i in 0..<t.count { t.pointer[i] = Float((i * 7 + k * 40) % 256) / 255 }
            return t
        }
        try GIFWriter.write(frames, to: path, delay: 5, finalDelay: 100)
        let decoded = try GIFReader.read(path: path)
        XCTAssertEqual(decoded.width, 10)
        XCTAssertEqual(decoded.height, 6)
        XCTAssertEqual(decoded.palette.count, 256)
        XCTAssertTrue(decoded.palette.enumerated().allSatisfy { $0.element == (UInt8($0.offset), UInt8($0.offset), UInt8($0.offset)) })
        XCTAssertEqual(decoded.frames.count, 5)
        for (k, f) in decoded.frames.enumerated() {
            XCTAssertEqual(f, (0..<60).map { UInt8((($0 * 7 + k * 40) % 256)) }, "frame \(k)")
        }
    }

    func testColourFramesShareOnePaletteThatFitsThem() throws {
        let path = try temporaryFolder(self).appendingPathComponent("c.gif").path
        let colours: [(Float, Float, Float)] = [(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0)]
        let frames = colours.map { c -> Tensor in
            let t = Tensor(zeros: [1, 3, 4, 4])
            for i in 0..<16 { t.pointer[i] = c.0; t.pointer[16 + i] = c.1; t.pointer[32 + i] = c.2 }
            return t
        }
        try GIFWriter.write(frames, to: path)
        let decoded = try GIFReader.read(path: path)
        XCTAssertEqual(decoded.frames.count, 4)
        for (k, f) in decoded.frames.enumerated() {
            let p = decoded.palette[Int(f[0])]
            let e = colours[k]
            XCTAssertEqual([p.0, p.1, p.2], [UInt8(e.0 * 255), UInt8(e.1 * 255), UInt8(e.2 * 255)], "frame \(k)")
            XCTAssertTrue(f.allSatisfy { $0 == f[0] })
        }
    }
}
