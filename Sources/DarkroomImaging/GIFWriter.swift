import CGIF
import DarkroomTensor
import Foundation

/// Writes looping animated GIFs through giflib: one palette for all frames, per-frame delays, the last frame held.
public enum GIFWriter {
    /// Writes `frames` ([1,C,H,W] in [0, 1], all one size) to `path`, atomically.
    ///
    /// `delay` and `finalDelay` are in hundredths of a second; one-channel frames use the exact 256 grays, colour
    /// frames a median-cut palette shared across frames.
    public static func write(_ frames: [Tensor], to path: String, delay: Int = 8, finalDelay: Int = 150) throws {
        guard let first = frames.first else { throw ImageError.unwritable(path: path, reason: "no frames") }
        let (h, w) = (first.shape[2], first.shape[3])
        guard frames.allSatisfy({ $0.shape == first.shape }) else { throw ImageError.unwritable(path: path, reason: "frames differ in size") }
        let palette = first.shape[1] == 1 ? ColorPalette.grays : ColorPalette.medianCut(frames)
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp").path
        var error: Int32 = 0
        guard let gif = EGifOpenFileName(temporary, false, &error) else {
            throw ImageError.unwritable(path: path, reason: String(cString: GifErrorString(error)))
        }
        func check(_ result: Int32, _ what: String) throws {
            guard result == GIF_OK else {
                var closeError: Int32 = 0
                EGifCloseFile(gif, &closeError)
                unlink(temporary)
                throw ImageError.unwritable(path: path, reason: "\(what): \(String(cString: GifErrorString(gif.pointee.Error)))")
            }
        }
        EGifSetGifVersion(gif, true)
        // The colour map size must be a power of two.
        let mapSize = 1 << Int(ceil(log2(Double(max(palette.colors.count, 2)))))
        guard let map = GifMakeMapObject(Int32(mapSize), nil) else { throw ImageError.unwritable(path: path, reason: "out of memory") }
        defer { GifFreeMapObject(map) }
        for (i, c) in palette.colors.enumerated() { map.pointee.Colors[i] = GifColorType(Red: c.0, Green: c.1, Blue: c.2) }
        try check(EGifPutScreenDesc(gif, Int32(w), Int32(h), 8, 0, map), "screen")
        var loop: [UInt8] = Array("NETSCAPE2.0".utf8)
        try check(EGifPutExtensionLeader(gif, APPLICATION_EXT_FUNC_CODE), "loop extension")
        try check(EGifPutExtensionBlock(gif, 11, &loop), "loop extension")
        var loopCount: [UInt8] = [1, 0, 0]
        try check(EGifPutExtensionBlock(gif, 3, &loopCount), "loop extension")
        try check(EGifPutExtensionTrailer(gif), "loop extension")
        for (k, frame) in frames.enumerated() {
            let d = k == frames.count - 1 ? finalDelay : delay
            var control: [UInt8] = [0x04, UInt8(d & 0xFF), UInt8(d >> 8), 0]  // dispose: leave in place
            try check(EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, 4, &control), "frame delay")
            try check(EGifPutImageDesc(gif, 0, 0, Int32(w), Int32(h), false, nil), "frame")
            var pixels = palette.indices(frame)
            for y in 0..<h {
                try pixels.withUnsafeMutableBufferPointer { try check(EGifPutLine(gif, $0.baseAddress! + y * w, Int32(w)), "frame row") }
            }
        }
        guard EGifCloseFile(gif, &error) == GIF_OK else {
            unlink(temporary)
            throw ImageError.unwritable(path: path, reason: String(cString: GifErrorString(error)))
        }
        chmod(temporary, 0o644)
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw ImageError.unwritable(path: path, reason: reason)
        }
    }
}

/// Reads GIFs back through giflib (tests and tools): the frames as palette indices and the global palette.
public enum GIFReader {
    public struct Decoded {
        public let width: Int
        public let height: Int
        public let palette: [(UInt8, UInt8, UInt8)]
        public let frames: [[UInt8]]
    }

    public static func read(path: String) throws -> Decoded {
        var error: Int32 = 0
        guard let gif = DGifOpenFileName(path, &error) else { throw ImageError.unreadable(path: path, reason: String(cString: GifErrorString(error))) }
        defer { DGifCloseFile(gif, &error) }
        guard DGifSlurp(gif) == GIF_OK else { throw ImageError.unreadable(path: path, reason: String(cString: GifErrorString(gif.pointee.Error))) }
        let g = gif.pointee
        var palette: [(UInt8, UInt8, UInt8)] = []
        if let map = g.SColorMap {
            for i in 0..<Int(map.pointee.ColorCount) {
                let c = map.pointee.Colors[i]
                palette.append((c.Red, c.Green, c.Blue))
            }
        }
        var frames: [[UInt8]] = []
        for i in 0..<Int(g.ImageCount) {
            let image = g.SavedImages[i]
            let n = Int(image.ImageDesc.Width * image.ImageDesc.Height)
            frames.append(Array(UnsafeBufferPointer(start: image.RasterBits, count: n)))
        }
        return Decoded(width: Int(g.SWidth), height: Int(g.SHeight), palette: palette, frames: frames)
    }
}
