import Foundation
import DarkroomTensor

/// Labelled single-channel images from a folder of IDX files, scaled to [0, 1] batch by batch.
public struct Dataset {
    public let images: [UInt8]
    public let labels: [Int]
    public let count: Int
    public let height: Int
    public let width: Int
    /// The image file the data came from.
    public let source: String

    /// Loads `split` ("train" or "t10k") from `folder`, accepting `NAME-images-idx3-ubyte` with or without `.gz`
    /// (and the `NAME-images.idx3-ubyte` spelling). With `split` nil, "train" is used when present, else "t10k".
    public init(folder: String, split: String? = nil, limit: Int? = nil) throws {
        let fm = FileManager.default
        func find(_ split: String, _ kind: String, _ rank: Int) -> String? {
            for name in ["\(split)-\(kind)-idx\(rank)-ubyte", "\(split)-\(kind).idx\(rank)-ubyte"] {
                for ext in ["", ".gz"] {
                    let p = (folder as NSString).appendingPathComponent(name + ext)
                    if fm.fileExists(atPath: p) { return p }
                }
            }
            return nil
        }
        let splits = split.map { [$0] } ?? ["train", "t10k"]
        guard let chosen = splits.first(where: { find($0, "images", 3) != nil }),
              let imagePath = find(chosen, "images", 3) else {
            throw TrainingError.badData("\(folder): no \(splits.joined(separator: " or "))-images-idx3-ubyte[.gz] file")
        }
        guard let labelPath = find(chosen, "labels", 1) else {
            throw TrainingError.badData("\(folder): \(imagePath) has no matching \(chosen)-labels-idx1-ubyte[.gz]")
        }
        let imageFile = try IDXFile(path: imagePath)
        let labelFile = try IDXFile(path: labelPath)
        guard imageFile.dimensions.count == 3 else { throw TrainingError.badData("\(imagePath): expected [N,H,W], found \(imageFile.dimensions)") }
        guard labelFile.dimensions == [imageFile.dimensions[0]] else {
            throw TrainingError.badData("\(labelPath): \(labelFile.dimensions) labels for \(imageFile.dimensions[0]) images")
        }
        let n = min(imageFile.dimensions[0], limit ?? Int.max)
        height = imageFile.dimensions[1]
        width = imageFile.dimensions[2]
        count = n
        images = Array(imageFile.bytes.prefix(n * height * width))
        labels = labelFile.bytes.prefix(n).map(Int.init)
        source = imagePath
    }

    /// Number of classes: one more than the largest label.
    public var classCount: Int { (labels.max() ?? -1) + 1 }

    /// Images `indices` as a [B,1,H,W] tensor in [0, 1] and their labels.
    public func batch(_ indices: ArraySlice<Int>) -> (Tensor, [Int]) {
        let plane = height * width
        let out = Tensor(uninitialized: [indices.count, 1, height, width])
        for (row, i) in indices.enumerated() {
            let dst = out.pointer + row * plane
            images.withUnsafeBufferPointer { src in
                for j in 0..<plane { dst[j] = Float(src[i * plane + j]) * (1 / 255) }
            }
        }
        return (out, indices.map { labels[$0] })
    }

    /// A permutation of 0..<count that depends only on `seed` (Fisher–Yates on `RandomSource`).
    public func shuffled(seed: UInt64) -> [Int] {
        var rng = RandomSource(seed: seed)
        var order = Array(0..<count)
        for i in stride(from: count - 1, to: 0, by: -1) { order.swapAt(i, rng.integer(below: i + 1)) }
        return order
    }
}
