import Foundation

/// Softmax over the last dimension, numerically stabilised by subtracting the row maximum.
public enum Softmax {
    /// Softmax of every row (last dimension) of `x`, in place.
    public static func lastDimensionInPlace(_ x: Tensor) {
        guard let width = x.shape.last, width > 0 else { return }
        let p = x.pointer
        parallelRanges(x.count / width, minimumChunk: max(1, 8192 / width)) { range in
            for r in range { rowInPlace(p + r * width, count: width) }
        }
    }

    /// Softmax of the last dimension as a new tensor.
    public static func lastDimension(_ x: Tensor) -> Tensor {
        let out = x.copy()
        lastDimensionInPlace(out)
        return out
    }

    @inlinable
    static func rowInPlace(_ row: UnsafeMutablePointer<Float>, count: Int) {
        var maxValue = -Float.infinity
        for i in 0..<count { maxValue = max(maxValue, row[i]) }
        var sum: Float = 0
        for i in 0..<count {
            let e = expf(row[i] - maxValue)
            row[i] = e
            sum += e
        }
        let inv = 1 / sum
        for i in 0..<count { row[i] *= inv }
    }
}
