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
        // libpng's simplified API takes 16-bit samples as linear light and would gamma-encode them on the way to
        // 8 bits; read them as 16-bit values instead and scale, so 16-bit files look like their 8-bit versions.
        let sixteen = image.format & png_uint_32(PNG_FORMAT_FLAG_LINEAR) != 0
        image.format = (channels == 1 ? png_uint_32(PNG_FORMAT_GRAY) : png_uint_32(PNG_FORMAT_RGB))
            | (sixteen ? png_uint_32(PNG_FORMAT_FLAG_LINEAR) : 0)
        let out = Tensor(uninitialized: [1, channels, h, w])
        var black = png_color(red: 0, green: 0, blue: 0)
        if sixteen {
            var samples = [UInt16](repeating: 0, count: w * h * channels)
            let ok = samples.withUnsafeMutableBytes { png_image_finish_read(&image, &black, $0.baseAddress, 0, nil) }
            guard ok != 0 else { throw ImageError.unreadable(path: path, reason: message(&image)) }
            fill(out, channels: channels, h: h, w: w) { Float(samples[$0]) / 65535 }
        } else {
            var bytes = [UInt8](repeating: 0, count: w * h * channels)
            let ok = bytes.withUnsafeMutableBytes { png_image_finish_read(&image, &black, $0.baseAddress, 0, nil) }
            guard ok != 0 else { throw ImageError.unreadable(path: path, reason: message(&image)) }
            fill(out, channels: channels, h: h, w: w) { Float(bytes[$0]) / 255 }
        }
        return out
    }

    /// Interleaved samples (HWC) → planar tensor (CHW).
    private static func fill(_ out: Tensor, channels: Int, h: Int, w: Int, _ sample: (Int) -> Float) {
        for y in 0..<h {
            for x in 0..<w {
                for c in 0..<channels { out.pointer[(c * h + y) * w + x] = sample((y * w + x) * channels + c) }
            }
        }
    }

    static func message(_ image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
