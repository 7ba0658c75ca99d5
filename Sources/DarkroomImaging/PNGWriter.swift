import CPNG
import CZlib
import DarkroomSupport
import DarkroomTensor
import Foundation

/// Writes 8-bit PNGs through libpng, with optional `tEXt` chunks (keyword → Latin-1 text).
public enum PNGWriter {
    /// Encodes `image` [1,C,H,W] or [C,H,W] in [0, 1] (C = 1 or 3) and returns the PNG bytes.
    public static func encode(_ image: Tensor, text: [(String, String)] = []) throws -> Data {
        let shape = image.rank == 4 ? Array(image.shape.dropFirst()) : image.shape
        guard shape.count == 3, shape[0] == 1 || shape[0] == 3 else {
            throw ImageError.unwritable(path: "<png>", reason: "expected [1,C,H,W] with C = 1 or 3, got \(image.shape)")
        }
        let (c, h, w) = (shape[0], shape[1], shape[2])
        var bytes = [UInt8](repeating: 0, count: w * h * c)
        for y in 0..<h {
            for x in 0..<w {
                for ch in 0..<c {
                    let v = image.pointer[(ch * h + y) * w + x]
                    bytes[(y * w + x) * c + ch] = UInt8(max(0, min(255, (v * 255).rounded())))
                }
            }
        }
        var png = png_image()
        png.version = png_uint_32(PNG_IMAGE_VERSION)
        png.width = png_uint_32(w)
        png.height = png_uint_32(h)
        png.format = c == 1 ? png_uint_32(PNG_FORMAT_GRAY) : png_uint_32(PNG_FORMAT_RGB)
        var size: Int = 0
        // A nil buffer asks libpng for the encoded size.
        guard png_image_write_to_memory(&png, nil, &size, 0, bytes, 0, nil) != 0 else {
            throw ImageError.unwritable(path: "<png>", reason: PNGWriter.message(&png))
        }
        var encoded = [UInt8](repeating: 0, count: size)
        guard encoded.withUnsafeMutableBytes({ png_image_write_to_memory(&png, $0.baseAddress, &size, 0, bytes, 0, nil) }) != 0 else {
            throw ImageError.unwritable(path: "<png>", reason: PNGWriter.message(&png))
        }
        var data = Data(encoded.prefix(size))
        if !text.isEmpty { data = insertTextChunks(into: data, text) }
        return data
    }

    /// Writes `image` to `path` atomically (temporary file, then rename).
    public static func write(_ image: Tensor, to path: String, text: [(String, String)] = []) throws {
        try AtomicFile.write(try encode(image, text: text), to: path)
    }

    /// Puts tEXt chunks right after IHDR (signature 8 bytes + IHDR chunk 25 bytes).
    static func insertTextChunks(into png: Data, _ text: [(String, String)]) -> Data {
        var out = png.prefix(33)
        for (key, value) in text {
            var body = Data(key.utf8.prefix(79))
            body.append(0)
            body.append(contentsOf: value.unicodeScalars.map { $0.value < 256 ? UInt8($0.value) : UInt8(ascii: "?") })
            out.append(chunk("tEXt", body))
        }
        out.append(png.dropFirst(33))
        return Data(out)
    }

    static func chunk(_ type: String, _ body: Data) -> Data {
        var out = Data()
        var length = UInt32(body.count).bigEndian
        withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
        let typed = Data(type.utf8) + body
        out.append(typed)
        var crc = UInt32(typed.withUnsafeBytes { CZlib.crc32(0, $0.bindMemory(to: UInt8.self).baseAddress, uInt($0.count)) }).bigEndian
        withUnsafeBytes(of: &crc) { out.append(contentsOf: $0) }
        return out
    }

    /// The tEXt chunks of a PNG file (for tests and `darkroom` re-runs).
    public static func textChunks(of data: Data) -> [String: String] {
        var result: [String: String] = [:]
        var offset = 8
        let bytes = [UInt8](data)
        while offset + 12 <= bytes.count {
            let length = Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
            guard offset + 12 + length <= bytes.count else { break }
            if type == "tEXt" {
                let body = bytes[(offset + 8)..<(offset + 8 + length)]
                if let zero = body.firstIndex(of: 0) {
                    let key = String(decoding: body[body.startIndex..<zero], as: UTF8.self)
                    result[key] = String(body[(zero + 1)...].map { Character(Unicode.Scalar($0)) })
                }
            }
            offset += 12 + length
        }
        return result
    }

    /// libpng's message for a failed simplified-API call.
    static func message(_ image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
