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

    /// Softmax of one row of `count` floats in place, scaling the logits by `scale` (> 0) first; eight lanes at a
    /// time. The row's maximum is subtracted after scaling, which needs a positive scale.
    @inlinable
    public static func rowInPlace(_ row: UnsafeMutablePointer<Float>, count: Int, scale: Float = 1) {
        assert(scale > 0, "softmax scale must be positive")
        var max8 = SIMD8<Float>(repeating: -.infinity)
        var m = 0
        while m + 8 <= count {
            max8 = pointwiseMax(max8, UnsafeRawPointer(row + m).loadUnaligned(as: SIMD8<Float>.self))
            m += 8
        }
        var maxValue = max8.max()
        while m < count { maxValue = max(maxValue, row[m]); m += 1 }
        let shift = maxValue * scale
        var sum8 = SIMD8<Float>(repeating: 0)
        var i = 0
        while i + 8 <= count {
            let v = UnsafeRawPointer(row + i).loadUnaligned(as: SIMD8<Float>.self)
            let e = SIMDMath.exp(v * scale - shift)
            UnsafeMutableRawPointer(row + i).storeBytes(of: e, as: SIMD8<Float>.self)
            sum8 += e
            i += 8
        }
        var sum = sum8.sum()
        while i < count {
            let e = expf(row[i] * scale - shift)
            row[i] = e
            sum += e
            i += 1
        }
        let inv = 1 / sum
        for j in 0..<count { row[j] *= inv }
    }
}
