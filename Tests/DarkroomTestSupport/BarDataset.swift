import Foundation

/// A tiny labelled IDX dataset for training tests: image i is class i mod 3, a bright horizontal bar (240) at rows
/// 4 + 6k…6 + 6k and columns 4 + shift…23 + shift on a dark background (10).
public enum BarDataset {
    /// Writes `SPLIT-images-idx3-ubyte` and `SPLIT-labels-idx1-ubyte` into `dir`.
    public static func write(_ dir: URL, split: String = "train", count: Int, shift: Int = 0) throws {
        var images = Data([0, 0, 8, 3])
        for v in [count, 28, 28] { images.append(contentsOf: withUnsafeBytes(of: UInt32(v).bigEndian) { Array($0) }) }
        var labels = Data([0, 0, 8, 1])
        labels.append(contentsOf: withUnsafeBytes(of: UInt32(count).bigEndian) { Array($0) })
        for i in 0..<count {
            let k = i % 3
            var pixels = [UInt8](repeating: 10, count: 784)
            for y in (4 + 6 * k)..<(7 + 6 * k) { for x in (4 + shift)..<(24 + shift) { pixels[y * 28 + x] = 240 } }
            images.append(contentsOf: pixels)
            labels.append(UInt8(k))
        }
        try images.write(to: dir.appendingPathComponent("\(split)-images-idx3-ubyte"))
        try labels.write(to: dir.appendingPathComponent("\(split)-labels-idx1-ubyte"))
    }
}
