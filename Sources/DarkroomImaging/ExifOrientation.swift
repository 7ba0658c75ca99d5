import Foundation

/// A JPEG's EXIF orientation (tag 0x0112 in IFD0 of the APP1 "Exif" segment) and the pixel mapping that shows the
/// image upright, as Pillow's `ImageOps.exif_transpose` does: phone photos are stored sideways and say so here.
public enum ExifOrientation {
    /// The orientation 1…8 (1 when absent or unreadable).
    public static func read(_ jpeg: Data) -> Int {
        let b = [UInt8](jpeg.prefix(1 << 20))
        var i = 2
        while i + 4 <= b.count, b[i] == 0xFF {
            let marker = b[i + 1]
            if marker == 0xDA || marker == 0xD9 { break }  // start of scan, end of image: no EXIF before them
            let length = Int(b[i + 2]) << 8 | Int(b[i + 3])
            let start = i + 4, end = min(b.count, i + 2 + length)
            if marker == 0xE1, end - start > 14, Array(b[start..<(start + 6)]) == Array("Exif\0\0".utf8) {
                return tiffOrientation(Array(b[(start + 6)..<end])) ?? 1
            }
            i += 2 + length
        }
        return 1
    }

    static func tiffOrientation(_ t: [UInt8]) -> Int? {
        guard t.count >= 8 else { return nil }
        let little = t[0] == 0x49 && t[1] == 0x49
        guard little || (t[0] == 0x4D && t[1] == 0x4D) else { return nil }
        func u16(_ o: Int) -> Int? { o + 2 <= t.count ? (little ? Int(t[o]) | Int(t[o + 1]) << 8 : Int(t[o]) << 8 | Int(t[o + 1])) : nil }
        func u32(_ o: Int) -> Int? { guard let a = u16(o), let b = u16(o + 2) else { return nil }; return little ? a | b << 16 : a << 16 | b }
        guard let ifd = u32(4), let count = u16(ifd) else { return nil }
        for k in 0..<min(count, 512) {
            let entry = ifd + 2 + 12 * k
            guard let tag = u16(entry) else { return nil }
            if tag == 0x0112, let value = u16(entry + 8), (1...8).contains(value) { return value }
        }
        return nil
    }

    /// The stored pixel shown at (x, y) of the upright image; `width`×`height` is the stored size.
    @inline(__always)
    public static func source(_ x: Int, _ y: Int, orientation: Int, width w: Int, height h: Int) -> (Int, Int) {
        switch orientation {
        case 2: return (w - 1 - x, y)
        case 3: return (w - 1 - x, h - 1 - y)
        case 4: return (x, h - 1 - y)
        case 5: return (y, x)
        case 6: return (y, h - 1 - x)
        case 7: return (w - 1 - y, h - 1 - x)
        case 8: return (w - 1 - y, x)
        default: return (x, y)
        }
    }
}
