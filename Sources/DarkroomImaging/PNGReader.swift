import CPNG
import DarkroomTensor
import Foundation

/// Reads PNG files of any colour type and bit depth (interlaced too) through libpng's simplified API.
public enum PNGReader {
    /// Largest accepted width × height; checked from the header before any pixel is decoded.
    public static let maxPixels = 40_000_000

    /// The image as [1,C,H,W] in [0, 1], C = 1 (luminance) or 3 (RGB); alpha is composited on black.
    public static func read(path: String, channels: Int) throws -> Tensor {
        precondition(channels == 1 || channels == 3)
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        guard png_image_begin_read_from_file(&image, path) != 0 else {
            throw ImageError.unreadable(path: path, reason: message(&image))
        }
        let (w, h) = (Int(image.width), Int(image.height))
        guard w > 0, h > 0, w * h <= maxPixels else {
            png_image_free(&image)
            throw ImageError.tooLarge(path: path, width: w, height: h, limit: maxPixels)
        }
        image.format = channels == 1 ? png_uint_32(PNG_FORMAT_GRAY) : png_uint_32(PNG_FORMAT_RGB)
        var bytes = [UInt8](repeating: 0, count: w * h * channels)
        var black = png_color(red: 0, green: 0, blue: 0)
        let ok = bytes.withUnsafeMutableBytes { png_image_finish_read(&image, &black, $0.baseAddress, 0, nil) }
        guard ok != 0 else { throw ImageError.unreadable(path: path, reason: message(&image)) }
        let out = Tensor(uninitialized: [1, channels, h, w])
        for y in 0..<h {
            for x in 0..<w {
                for c in 0..<channels {
                    out.pointer[(c * h + y) * w + x] = Float(bytes[(y * w + x) * channels + c]) / 255
                }
            }
        }
        return out
    }

    static func message(_ image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
