import XCTest
import DarkroomImaging
import DarkroomTensor
import DarkroomTestSupport

/// PNG input of every colour type and depth (scripts/reference/make_png_fixtures.py), output with metadata.
final class PNGTests: XCTestCase {
    let (w, h) = (7, 5)

    /// The fixtures' pattern (8-bit values).
    func rgb(_ x: Int, _ y: Int) -> (Int, Int, Int) {
        let r = (37 * x + 11 * y) % 256
        return (r, 255 - r, (50 * y) % 256)
    }

    func byte(_ v: Float) -> Int { Int((v * 255).rounded()) }

    func testGrayOfEveryDepthReadsExactly() throws {
        for depth in [1, 2, 4, 8, 16] {
            let img = try ImageDecoder.read(path: Fixtures.path("png/gray\(depth).png"), channels: 1)
            XCTAssertEqual(img.shape, [1, 1, h, w])
            for y in 0..<h {
                for x in 0..<w {
                    let r = rgb(x, y).0
                    let expected = depth >= 8 ? r : Int((Double(r >> (8 - depth)) * 255 / Double((1 << depth) - 1)).rounded())
                    XCTAssertEqual(byte(img[0, 0, y, x]), expected, accuracy: depth == 16 ? 1 : 0, "gray\(depth) (\(x),\(y))")
                }
            }
        }
    }

    func testColourTypesWithAndWithoutAlphaAndInterlacing() throws {
        for name in ["rgb8", "rgb16", "rgba8", "rgba16", "palette8", "rgb8_interlaced"] {
            let img = try ImageDecoder.read(path: Fixtures.path("png/\(name).png"), channels: 3)
            XCTAssertEqual(img.shape, [1, 3, h, w], name)
            for y in 0..<h {
                for x in 0..<w {
                    let e = rgb(x, y)  // alpha is dropped, as Pillow's convert("RGB") does
                    let got = (byte(img[0, 0, y, x]), byte(img[0, 1, y, x]), byte(img[0, 2, y, x]))
                    let tolerance = name.contains("16") ? 1 : 0
                    XCTAssertEqual(got.0, e.0, accuracy: tolerance, "\(name) red (\(x),\(y))")
                    XCTAssertEqual(got.1, e.1, accuracy: tolerance, "\(name) green (\(x),\(y))")
                    XCTAssertEqual(got.2, e.2, accuracy: tolerance, "\(name) blue (\(x),\(y))")
                }
            }
        }
        for name in ["gray_alpha8", "gray_alpha16", "gray8_interlaced"] {
            let img = try ImageDecoder.read(path: Fixtures.path("png/\(name).png"), channels: 1)
            for y in 0..<h {
                for x in 0..<w {
                    let e = rgb(x, y).0
                    XCTAssertEqual(byte(img[0, 0, y, x]), e, accuracy: name.contains("16") ? 1 : 0, "\(name) (\(x),\(y))")
                }
            }
        }
    }

    func testLowBitDepthPalettesReadExactly() throws {
        for depth in [1, 2, 4] {
            let img = try ImageDecoder.read(path: Fixtures.path("png/palette\(depth).png"), channels: 3)
            for y in 0..<h {
                for x in 0..<w {
                    let k = (x + 2 * y) % (1 << depth)
                    let e = ((k * 37) % 256, 255 - (k * 37) % 256, (k * 50) % 256)
                    XCTAssertEqual([byte(img[0, 0, y, x]), byte(img[0, 1, y, x]), byte(img[0, 2, y, x])], [e.0, e.1, e.2],
                                   "palette\(depth) (\(x),\(y))")
                }
            }
        }
    }

    func testColourToGrayIsALuminanceBetweenTheChannels() throws {
        let img = try ImageDecoder.read(path: Fixtures.path("png/rgb8.png"), channels: 1)
        for y in 0..<h {
            for x in 0..<w {
                let (r, g, b) = rgb(x, y)
                let v = byte(img[0, 0, y, x])
                XCTAssertGreaterThanOrEqual(v, min(r, g, b) - 1)
                XCTAssertLessThanOrEqual(v, max(r, g, b) + 1)
            }
        }
    }

    func testCorruptTruncatedAndHugeFilesAreErrorsNamingTheFile() throws {
        for name in ["truncated", "huge"] {
            let path = Fixtures.path("png/\(name).png")
            XCTAssertThrowsError(try ImageDecoder.read(path: path, channels: 1)) { XCTAssertTrue("\($0)".contains(path), "\($0)") }
        }
        XCTAssertThrowsError(try ImageDecoder.read(path: Fixtures.path("png/huge.png"), channels: 1)) {
            XCTAssertTrue("\($0)".contains("refused before decoding"))
        }
        let dir = try temporaryFolder(self)
        let notPNG = dir.appendingPathComponent("x.png").path
        try Data("hello".utf8).write(to: URL(fileURLWithPath: notPNG))
        XCTAssertThrowsError(try ImageDecoder.read(path: notPNG, channels: 3))
    }

    func testIntakeCheckDecodesEverythingAndRefusesHugeHeadersUnread() throws {
        let good = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("png/rgb8_interlaced.png")))
        let size = try ImageDecoder.check(good, name: "good")
        let tensor = try ImageDecoder.read(path: Fixtures.path("png/rgb8_interlaced.png"), channels: 1)
        XCTAssertEqual([size.height, size.width], Array(tensor.shape[2...]))
        XCTAssertThrowsError(try ImageDecoder.check(try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("png/huge.png"))), name: "h")) {
            XCTAssertTrue("\($0)".contains("refused before decoding"), "\($0)")
        }
        XCTAssertThrowsError(try ImageDecoder.check(try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("png/truncated.png"))), name: "t"))
        XCTAssertThrowsError(try ImageDecoder.check(good.prefix(good.count - 20), name: "cut"))
        XCTAssertThrowsError(try ImageDecoder.check(Data("GIF89a".utf8), name: "gif")) { XCTAssertTrue("\($0)".contains("not a PNG or JPEG")) }
    }

    func testWriteReadRoundTripWithTextChunks() throws {
        let dir = try temporaryFolder(self)
        var rng = RandomSource(seed: 1)
        for channels in [1, 3] {
            let img = rng.uniform([1, channels, 9, 13])
            let path = dir.appendingPathComponent("rt\(channels).png").path
            try PNGWriter.write(img, to: path, text: [("parameters", "a sneaker\nSteps: 300, Seed: 7"), ("darkroom", #"{"mode":"generate"}"#)])
            let back = try ImageDecoder.read(path: path, channels: channels)
            XCTAssertLessThanOrEqual(maxAbsDifference(back, img), 0.5 / 255 + 1e-6)
            let text = PNGWriter.textChunks(of: try Data(contentsOf: URL(fileURLWithPath: path)))
            XCTAssertEqual(text["parameters"], "a sneaker\nSteps: 300, Seed: 7")
            XCTAssertEqual(text["darkroom"], #"{"mode":"generate"}"#)
        }
    }

    func testResizeCropsToTheCentreAndAveragesAreas() {
        let img = Tensor(zeros: [1, 1, 4, 8])
        for y in 0..<4 { for x in 2..<6 { img[0, 0, y, x] = 1 } }
        let square = ImageResize.centerSquare(img)
        XCTAssertEqual(square.shape, [1, 1, 4, 4])
        XCTAssertEqual(square.scalars, Array(repeating: 1, count: 16))
        let checker = Tensor(zeros: [1, 1, 4, 4])
        for y in 0..<4 { for x in 0..<4 where (x + y) % 2 == 0 { checker[0, 0, y, x] = 1 } }
        XCTAssertEqual(ImageResize.area(checker, size: 2).scalars, [0.5, 0.5, 0.5, 0.5], "area averaging, not subsampling")
        // 3×3 → 2×2: each output covers 1.5×1.5 input pixels, the middle row and column shared between two.
        let ramp = Tensor(shape: [1, 1, 3, 3], data: [0, 3, 6, 0, 3, 6, 0, 3, 6])
        assertClose(ImageResize.area(ramp, size: 2), Tensor(shape: [1, 1, 2, 2], data: [1, 5, 1, 5]), tolerance: 1e-5, "fractional edge weights")
    }
}
