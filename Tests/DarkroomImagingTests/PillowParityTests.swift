import Foundation
import XCTest
import DarkroomImaging
import DarkroomTensor
import DarkroomTestSupport

/// Input images read as Pillow reads them (references by scripts/reference/make_pillow_fixtures.py): every PNG colour
/// type and depth, gAMA ignored, alpha dropped, gray as convert("L"), JPEG with its EXIF orientation.
final class PillowParityTests: XCTestCase {
    func reference(_ stem: String) throws -> (gray: Tensor, rgb: Tensor) {
        let file = try Fixtures.open("pillow/\(stem).safetensors")
        return (try file.tensor("gray"), try file.tensor("rgb"))
    }

    func testEveryPNGColourTypeAndDepthReadsAsPillowDoes() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Fixtures.path("png")).filter { $0.hasSuffix(".png") }
        var checked = 0
        for name in names.sorted() where !["truncated.png", "huge.png"].contains(name) {
            let stem = String(name.dropLast(4))
            let (gray, rgb) = try reference(stem)
            let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("png/\(name)")))
            // 8-bit files exactly; 16-bit ones against their 8-bit twin, within the rounding of one 8-bit step.
            let tolerance: Float = stem.contains("16") ? 0.51 / 255 : 1e-6
            assertClose(try ImageDecoder.decode(data, channels: 1, name: name), gray, tolerance: tolerance, "\(name) gray")
            assertClose(try ImageDecoder.decode(data, channels: 3, name: name), rgb, tolerance: tolerance, "\(name) rgb")
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 18)
    }

    func testAGammaChunkChangesNothingAndSixteenBitsAgreeWithEight() throws {
        let dir = Fixtures.path("png")
        let plain = try ImageDecoder.read(path: dir + "/rgb8.png", channels: 1)
        for other in ["rgb8_gamma.png", "rgb16.png", "rgb16_gamma.png"] {
            assertClose(try ImageDecoder.read(path: dir + "/" + other, channels: 1), plain, tolerance: 0.51 / 255, other)
        }
        XCTAssertEqual(try ImageDecoder.read(path: dir + "/rgb8_gamma.png", channels: 3).scalars,
                       try ImageDecoder.read(path: dir + "/rgb8.png", channels: 3).scalars)
    }

    func testJPEGsReadAsPillowDoesWithTheirEXIFOrientation() throws {
        // cmyk and ycck: Adobe's inverted samples, which libjpeg alone refuses to turn into RGB.
        for stem in ["photo", "gray", "progressive", "cmyk", "ycck"] + (1...8).map({ "orient\($0)" }) {
            let (gray, rgb) = try reference(stem)
            let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("pillow/\(stem).jpg")))
            XCTAssertEqual(ImageDecoder.format(of: data), .jpeg)
            let g = try ImageDecoder.decode(data, channels: 1, name: stem), c = try ImageDecoder.decode(data, channels: 3, name: stem)
            // libjpeg-turbo here and in Pillow's wheel decode alike (accurate DCT, fancy upsampling); allow one level.
            assertClose(g, gray, tolerance: 1.01 / 255, "\(stem) gray")
            assertClose(c, rgb, tolerance: 1.01 / 255, "\(stem) rgb")
            let size = try ImageDecoder.check(data, name: stem)
            XCTAssertEqual([size.height, size.width], Array(g.shape[2...]), stem)
        }
        XCTAssertEqual(try ImageDecoder.check(Data(contentsOf: URL(fileURLWithPath: Fixtures.path("pillow/orient6.jpg"))), name: "o").width, 24,
                       "orientation 6 stands the 40×24 picture upright")
    }

    func testCorruptAndForeignFilesAreErrorsWithTheDecodersReason() throws {
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("pillow/photo.jpg")))
        XCTAssertThrowsError(try ImageDecoder.decode(jpeg.prefix(200), channels: 1, name: "cut.jpg")) { XCTAssertTrue("\($0)".contains("JPEG"), "\($0)") }
        // Cut inside the compressed data: libjpeg would pad it with gray and only warn; Pillow refuses it, and so do we.
        XCTAssertThrowsError(try ImageDecoder.decode(jpeg.prefix(jpeg.count * 3 / 4), channels: 1, name: "half.jpg")) {
            XCTAssertTrue("\($0)".contains("JPEG"), "\($0)")
        }
        XCTAssertThrowsError(try ImageDecoder.check(jpeg.prefix(jpeg.count - 10), name: "short.jpg"))
        // Extraneous bytes before the end marker, as some cameras write: a warning only, for libjpeg and Pillow alike.
        var padded = jpeg.prefix(jpeg.count - 2)
        padded.append(contentsOf: [0, 0, 0, 0, 0xFF, 0xD9])
        assertClose(try ImageDecoder.decode(padded, channels: 3, name: "padded.jpg"), try reference("photo").rgb, tolerance: 1.01 / 255)
        XCTAssertThrowsError(try ImageDecoder.decode(Data("GIF89a....".utf8), channels: 1, name: "x.gif")) { XCTAssertTrue("\($0)".contains("not a PNG or JPEG"), "\($0)") }
        let png = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("png/rgb8.png")))
        var broken = png
        broken[40] ^= 0xFF  // inside IHDR/IDAT: a CRC error
        XCTAssertThrowsError(try ImageDecoder.decode(broken, channels: 1, name: "crc.png"))
    }
}
