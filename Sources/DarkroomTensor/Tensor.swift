import Foundation

/// A dense Float32 tensor, contiguous in row-major order (images are NCHW).
///
/// A tensor is a shape plus a reference to its storage: copies share memory, and operations return new tensors
/// unless their name ends in `InPlace`.
// @unchecked Sendable: a tensor is a shape and a reference to `TensorStorage`; sharing one across threads is safe as long
// as no two threads write the same elements, which every parallel kernel guarantees by splitting disjoint ranges.
public struct Tensor: @unchecked Sendable {
    /// Extent of every dimension, outermost first.
    public let shape: [Int]
    /// The memory holding the elements.
    public let storage: TensorStorage

    /// Number of elements (the product of `shape`).
    public var count: Int { storage.count }
    /// Number of dimensions.
    public var rank: Int { shape.count }
    /// Mutable pointer to the first element.
    @inlinable public var pointer: UnsafeMutablePointer<Float> { storage.pointer }

    /// A tensor of zeros.
    public init(zeros shape: [Int]) {
        self.shape = shape
        storage = TensorStorage(count: Tensor.elementCount(shape))
    }

    /// A tensor whose elements the caller will all overwrite.
    public init(uninitialized shape: [Int]) {
        self.shape = shape
        storage = TensorStorage(uninitializedCount: Tensor.elementCount(shape))
    }

    /// A tensor holding `data` (row-major); `data.count` must equal the product of `shape`.
    public init(shape: [Int], data: [Float]) {
        precondition(Tensor.elementCount(shape) == data.count, "shape \(shape) needs \(Tensor.elementCount(shape)) elements, got \(data.count)")
        self.init(uninitialized: shape)
        data.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: data.count) }
    }

    /// A tensor over existing storage.
    public init(shape: [Int], storage: TensorStorage) {
        precondition(Tensor.elementCount(shape) == storage.count, "shape \(shape) does not match storage of \(storage.count) elements")
        self.shape = shape
        self.storage = storage
    }

    /// A tensor filled with one value.
    public init(repeating value: Float, shape: [Int]) {
        self.init(uninitialized: shape)
        pointer.update(repeating: value, count: count)
    }

    /// Product of the extents in `shape`.
    public static func elementCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    /// The elements as an array (a copy).
    public var scalars: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    /// The same elements under another shape with the same element count (shares memory).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, storage: storage)
    }

    /// An independent copy.
    public func copy() -> Tensor {
        let out = Tensor(uninitialized: shape)
        out.pointer.update(from: pointer, count: count)
        return out
    }

    /// Samples `range` of the outermost dimension, copied into a new tensor.
    public func slice(batch range: Range<Int>) -> Tensor {
        let per = count / max(shape[0], 1)
        var newShape = shape
        newShape[0] = range.count
        let out = Tensor(uninitialized: newShape)
        out.pointer.update(from: pointer + range.lowerBound * per, count: range.count * per)
        return out
    }

    /// Element at a multi-dimensional index (for tests and small tools, not for hot loops).
    public subscript(_ index: Int...) -> Float {
        get { pointer[flatIndex(index)] }
        nonmutating set { pointer[flatIndex(index)] = newValue }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "index rank \(index.count) for shape \(shape)")
        var flat = 0
        for (i, extent) in zip(index, shape) {
            precondition(i >= 0 && i < extent, "index \(index) out of range for shape \(shape)")
            flat = flat * extent + i
        }
        return flat
    }
}
