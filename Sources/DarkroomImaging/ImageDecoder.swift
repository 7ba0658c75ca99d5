import CImageDecode
import DarkroomTensor
import Foundation

/// Reads input images the way Pillow does, so a photo gives a model the same numbers as in a PyTorch notebook:
/// PNG and JPEG, values as stored (gAMA, cHRM, sRGB and ICC profiles change nothing), alpha dropped, gray as Pillow's
/// `convert("L")` (ITU-R 601 luma 0.299/0.587/0.114 in integer arithmetic), RGB as `convert("RGB")`, a JPEG's EXIF
/// orientation applied (`ImageOps.exif_transpose`). Where Pillow itself is lossy, 16-bit files keep their precision
/// (Pillow truncates or clips them), so they agree with their 8-bit twins.
public enum ImageDecoder {
    public enum Format: String, Sendable { case png, jpeg }

    /// Largest accepted width × height; checked from the header before any pixel is decoded.
    public static let maxPixels = 40_000_000

    /// The format the bytes begin with, nil for anything else.
    public static func format(of data: Data) -> Format? {
        if data.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if data.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        return nil
    }

    /// The image in `data` as [1, channels, H, W] in [0, 1] (channels 1 or 3); `name` is for messages.
    public static func decode(_ data: Data, channels: Int, name: String) throws -> Tensor {
        precondition(channels == 1 || channels == 3)
        let (image, format) = try decodeRaw(data, name: name)
        var raw = image
        defer { darkroom_image_free(&raw) }
        let orientation = format == .jpeg ? ExifOrientation.read(data) : 1
        let (w, h) = (Int(image.width), Int(image.height))
        let (ow, oh) = orientation >= 5 ? (h, w) : (w, h)
        let out = Tensor(uninitialized: [1, channels, oh, ow])
        let plane = ow * oh
        // Pillow's luma in integer arithmetic on the stored values (8- or 16-bit), scaled to [0, 1].
        func fill<Sample: BinaryInteger>(_ pixels: UnsafeMutablePointer<Sample>, maximum: Float) {
            for y in 0..<oh {
                for x in 0..<ow {
                    let (sx, sy) = ExifOrientation.source(x, y, orientation: orientation, width: w, height: h)
                    let i = (sy * w + sx) * 4, o = y * ow + x
                    let (r, g, b) = (UInt64(pixels[i]), UInt64(pixels[i + 1]), UInt64(pixels[i + 2]))
                    if channels == 1 {
                        out.pointer[o] = Float((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16) / maximum
                    } else {
                        out.pointer[o] = Float(r) / maximum
                        out.pointer[plane + o] = Float(g) / maximum
                        out.pointer[2 * plane + o] = Float(b) / maximum
                    }
                }
            }
        }
        if image.depth == 16 { fill(image.pixels16, maximum: 65535) } else { fill(image.pixels8, maximum: 255) }
        return out
    }

    /// Decodes completely without converting; returns the size as shown (EXIF orientation applied) and the format.
    public static func check(_ data: Data, name: String) throws -> (width: Int, height: Int, format: Format) {
        var (image, format) = try decodeRaw(data, name: name)
        defer { darkroom_image_free(&image) }
        let turned = format == .jpeg && ExifOrientation.read(data) >= 5
        return turned ? (Int(image.height), Int(image.width), format) : (Int(image.width), Int(image.height), format)
    }

    /// Reads and decodes the file at `path`.
    public static func read(path: String, channels: Int) throws -> Tensor {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ImageError.unreadable(path: path, reason: "cannot read the file")
        }
        return try decode(data, channels: channels, name: path)
    }

    static func decodeRaw(_ data: Data, name: String) throws -> (darkroom_image, Format) {
        guard let format = format(of: data) else {
            throw ImageError.unreadable(path: name, reason: "not a PNG or JPEG file (Darkroom reads PNG and JPEG images)")
        }
        var image = darkroom_image()
        var message = [CChar](repeating: 0, count: 256)
        let status = data.withUnsafeBytes { raw in
            let base = raw.bindMemory(to: UInt8.self).baseAddress
            return format == .png
                ? darkroom_png_decode(base, raw.count, ImageDecoder.maxPixels, &image, &message, message.count)
                : darkroom_jpeg_decode(base, raw.count, ImageDecoder.maxPixels, &image, &message, message.count)
        }
        guard status == 0 else {
            if status == DARKROOM_TOO_LARGE {
                throw ImageError.tooLarge(path: name, width: Int(image.width), height: Int(image.height), limit: ImageDecoder.maxPixels)
            }
            let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw ImageError.unreadable(path: name, reason: "\(format == .png ? "PNG" : "JPEG"): \(reason)")
        }
        return (image, format)
    }
}
