import DarkroomTensor

/// A palette of up to 256 colours for GIF frames, and the mapping of pixels onto it.
public struct ColorPalette {
    /// RGB triples, 0…255.
    public let colors: [(UInt8, UInt8, UInt8)]
    /// 15-bit RGB (5 bits each) → palette index, filled once so mapping a pixel is one lookup.
    private let lookup: [UInt8]
    private let gray: Bool

    /// The exact 256 grays, for one-channel frames.
    public static let grays = ColorPalette(colors: (0..<256).map { (UInt8($0), UInt8($0), UInt8($0)) }, gray: true)

    init(colors: [(UInt8, UInt8, UInt8)], gray: Bool) {
        self.colors = colors
        self.gray = gray
        if gray {
            lookup = []
            return
        }
        var table = [UInt8](repeating: 0, count: 32_768)
        for key in 0..<32_768 {
            let (r, g, b) = ((key >> 10) << 3 | 4, (key >> 5 & 31) << 3 | 4, (key & 31) << 3 | 4)
            var best = 0, bestDistance = Int.max
            for (i, c) in colors.enumerated() {
                let d = (Int(c.0) - r) * (Int(c.0) - r) + (Int(c.1) - g) * (Int(c.1) - g) + (Int(c.2) - b) * (Int(c.2) - b)
                if d < bestDistance { best = i; bestDistance = d }
            }
            table[key] = UInt8(best)
        }
        lookup = table
    }

    /// Median cut over the pixels of all `frames` ([1,3,H,W] in [0, 1]), shared by every frame.
    public static func medianCut(_ frames: [Tensor], colors count: Int = 256) -> ColorPalette {
        var pixels: [(UInt8, UInt8, UInt8)] = []
        let total = frames.reduce(0) { $0 + $1.count / 3 }
        let step = max(1, total / 200_000)
        var index = 0
        for f in frames {
            let plane = f.count / 3
            for i in 0..<plane {
                if index % step == 0 {
                    pixels.append((byte(f.pointer[i]), byte(f.pointer[plane + i]), byte(f.pointer[2 * plane + i])))
                }
                index += 1
            }
        }
        var boxes: [[(UInt8, UInt8, UInt8)]] = [pixels]
        while boxes.count < count {
            // Split the box with the widest channel range at its median.
            var bestBox = -1, bestRange = 0, bestChannel = 0
            for (i, box) in boxes.enumerated() where box.count > 1 {
                for ch in 0..<3 {
                    let values = box.map { ch == 0 ? $0.0 : ch == 1 ? $0.1 : $0.2 }
                    let range = Int(values.max()!) - Int(values.min()!)
                    if range > bestRange { bestBox = i; bestRange = range; bestChannel = ch }
                }
            }
            if bestBox < 0 { break }
            let ch = bestChannel
            let sorted = boxes[bestBox].sorted { (ch == 0 ? $0.0 : ch == 1 ? $0.1 : $0.2) < (ch == 0 ? $1.0 : ch == 1 ? $1.1 : $1.2) }
            let mid = sorted.count / 2
            boxes[bestBox] = Array(sorted[..<mid])
            boxes.append(Array(sorted[mid...]))
        }
        let colors = boxes.filter { !$0.isEmpty }.map { box -> (UInt8, UInt8, UInt8) in
            let n = box.count
            let sums = box.reduce((0, 0, 0)) { ($0.0 + Int($1.0), $0.1 + Int($1.1), $0.2 + Int($1.2)) }
            return (UInt8(sums.0 / n), UInt8(sums.1 / n), UInt8(sums.2 / n))
        }
        return ColorPalette(colors: colors.isEmpty ? [(0, 0, 0)] : colors, gray: false)
    }

    /// Palette indices of `frame` ([1,C,H,W] in [0, 1]), row-major.
    public func indices(_ frame: Tensor) -> [UInt8] {
        let channels = frame.shape[1]
        let plane = frame.count / channels
        var out = [UInt8](repeating: 0, count: plane)
        if gray || channels == 1 {
            for i in 0..<plane { out[i] = byte(frame.pointer[i]) }
            return out
        }
        for i in 0..<plane {
            let (r, g, b) = (Int(byte(frame.pointer[i])), Int(byte(frame.pointer[plane + i])), Int(byte(frame.pointer[2 * plane + i])))
            out[i] = lookup[(r >> 3) << 10 | (g >> 3) << 5 | (b >> 3)]
        }
        return out
    }
}

@inline(__always)
func byte(_ v: Float) -> UInt8 { UInt8(max(0, min(255, (v * 255).rounded()))) }
