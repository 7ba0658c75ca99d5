import DarkroomTensor

/// A palette of up to 256 colours for GIF frames, and the mapping of pixels onto it.
public struct ColorPalette: Sendable {
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
        // Each box remembers its widest channel and that channel's range, so a split only measures the two halves.
        typealias Box = (pixels: [(UInt8, UInt8, UInt8)], channel: Int, range: Int)
        func measure(_ p: [(UInt8, UInt8, UInt8)]) -> Box {
            guard !p.isEmpty else { return (p, 0, 0) }
            var lo = (UInt8.max, UInt8.max, UInt8.max), hi = (UInt8.min, UInt8.min, UInt8.min)
            for v in p {
                lo = (min(lo.0, v.0), min(lo.1, v.1), min(lo.2, v.2))
                hi = (max(hi.0, v.0), max(hi.1, v.1), max(hi.2, v.2))
            }
            let ranges = [Int(hi.0) - Int(lo.0), Int(hi.1) - Int(lo.1), Int(hi.2) - Int(lo.2)]
            let ch = ranges.indices.max { ranges[$0] < ranges[$1] }!
            return (p, ch, p.count > 1 ? ranges[ch] : 0)
        }
        var boxes: [Box] = [measure(pixels)]
        while boxes.count < count {
            guard let best = boxes.indices.max(by: { boxes[$0].range < boxes[$1].range }), boxes[best].range > 0 else { break }
            let ch = boxes[best].channel
            let sorted = boxes[best].pixels.sorted { (ch == 0 ? $0.0 : ch == 1 ? $0.1 : $0.2) < (ch == 0 ? $1.0 : ch == 1 ? $1.1 : $1.2) }
            let mid = sorted.count / 2
            boxes[best] = measure(Array(sorted[..<mid]))
            boxes.append(measure(Array(sorted[mid...])))
        }
        let colors = boxes.map(\.pixels).filter { !$0.isEmpty }.map { box -> (UInt8, UInt8, UInt8) in
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
