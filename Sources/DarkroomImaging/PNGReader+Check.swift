import CPNG
import Foundation

extension PNGReader {
    /// Decodes PNG bytes completely (every chunk, CRC and pixel) without keeping the pixels, and returns the size:
    /// intake's proof that a job's image will load. `name` is only for messages. Sizes over `maxPixels` are refused
    /// from the header, before anything is decoded.
    public static func check(_ data: Data, name: String) throws -> (width: Int, height: Int) {
        guard data.count >= 8, data.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else {
            throw ImageError.unreadable(path: name, reason: "not a PNG file (Darkroom reads PNG images)")
        }
        // libpng keeps a pointer to the bytes from begin_read to finish_read: both happen inside one access.
        return try data.withUnsafeBytes { raw -> (width: Int, height: Int) in
            var image = png_image()
            image.version = png_uint_32(PNG_IMAGE_VERSION)
            guard png_image_begin_read_from_memory(&image, raw.baseAddress, raw.count) != 0 else {
                throw ImageError.unreadable(path: name, reason: message(&image))
            }
            let (w, h) = (Int(image.width), Int(image.height))
            guard w > 0, h > 0, w * h <= maxPixels else {
                png_image_free(&image)
                throw ImageError.tooLarge(path: name, width: w, height: h, limit: maxPixels)
            }
            image.format = png_uint_32(PNG_FORMAT_GRAY)
            var pixels = [UInt8](repeating: 0, count: w * h)
            var black = png_color(red: 0, green: 0, blue: 0)
            let finished = pixels.withUnsafeMutableBytes { png_image_finish_read(&image, &black, $0.baseAddress, 0, nil) }
            guard finished != 0 else { throw ImageError.unreadable(path: name, reason: message(&image)) }
            return (w, h)
        }
    }
}
