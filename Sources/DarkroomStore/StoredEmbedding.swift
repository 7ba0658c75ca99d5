import Foundation
import DarkroomJobModel

/// A text encoder's output for one prompt, as the database keeps it.
public struct StoredEmbedding: Equatable, Sendable {
    public var shape: [Int]
    /// Row-major Float32 values.
    public var values: [Float]

    public init(shape: [Int], values: [Float]) {
        self.shape = shape
        self.values = values
    }
}

extension StoredEmbedding {
    /// The values as little-endian Float32 bytes, as both engines store them.
    public var bytes: Data {
        var data = Data(capacity: values.count * 4)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        return data
    }

    /// Reads values stored by `bytes`; nil when the byte count does not fit the shape.
    public init?(shape: [Int], bytes data: Data) {
        let count = shape.reduce(1, *)
        guard data.count == count * 4 else { return nil }
        var values = [Float](repeating: 0, count: count)
        data.withUnsafeBytes { src in
            for i in 0..<count { values[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
        }
        self.init(shape: shape, values: values)
    }

    /// The shape as stored: "77,4096".
    public var shapeText: String { shape.map(String.init).joined(separator: ",") }
}
