import CPNG
import DarkroomTensor
import Foundation

/// PNG input (through `ImageDecoder`) and libpng's messages for the writer.
public enum PNGReader {
    /// Largest accepted width × height; checked from the header before any pixel is decoded.
    public static let maxPixels = 40_000_000

    /// The image as [1,C,H,W] in [0, 1], C = 1 (Pillow's luma) or 3 (RGB), read as `ImageDecoder` reads every
    /// input: stored values, alpha dropped (PNG or JPEG, whatever the name says).
    public static func read(path: String, channels: Int) throws -> Tensor {
        try ImageDecoder.read(path: path, channels: channels)
    }

    static func message(_ image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
