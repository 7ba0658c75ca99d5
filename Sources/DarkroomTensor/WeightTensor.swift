import Foundation

/// A model weight as stored: Float32, or 16-bit values (IEEE half or bfloat16) kept as they are (for example
/// memory-mapped from an fp16 or bf16 safetensors file) and widened to Float32 only while a layer uses it, halving the
/// memory weights take.
// @unchecked Sendable: weights are read-only after loading; the per-thread scratch used to widen fp16 is thread-local.
public struct WeightTensor: @unchecked Sendable {
    enum Storage {
        case float(Tensor)
        case half(UnsafePointer<UInt16>, owner: AnyObject, mapped: Bool, format: HalfFormat)
    }

    /// The 16-bit formats a weight may keep.
    public enum HalfFormat: Sendable {
        /// IEEE 754 binary16.
        case fp16
        /// bfloat16: the upper half of a Float32.
        case bf16
    }

    public let shape: [Int]
    let storage: Storage

    /// Number of elements.
    public var count: Int { Tensor.elementCount(shape) }
    /// True when the values are kept in half precision.
    public var isHalf: Bool { if case .half = storage { return true } else { return false } }

    /// A Float32 weight.
    public init(_ tensor: Tensor) {
        shape = tensor.shape
        storage = .float(tensor)
    }

    /// Half-precision values at `pointer`, kept alive by `owner`.
    ///
    /// `mapped`: the values are a read-only view of a memory-mapped file. Then, once a layer has widened them, the
    /// pages they fill are handed back to the kernel (`MADV_DONTNEED`): the process keeps no copy of the weights
    /// between uses, and the next use reads them again from the page cache.
    public init(half pointer: UnsafePointer<UInt16>, shape: [Int], owner: AnyObject, mapped: Bool = false, format: HalfFormat = .fp16) {
        self.shape = shape
        storage = .half(pointer, owner: owner, mapped: mapped, format: format)
    }

    /// The weight as a Float32 tensor of its own (a new copy when half; the tensor itself otherwise).
    public func widened() -> Tensor {
        switch storage {
        case .float(let t): return t
        case .half(let p, _, let mapped, let format):
            let out = Tensor(uninitialized: shape)
            HalfPrecision.widen(p, format: format, into: out.pointer, count: count)
            if mapped { WeightTensor.releasePages(p, bytes: 2 * count) }
            return out
        }
    }

    /// Runs `body` with the weight as Float32: the tensor itself, or this thread's scratch buffer holding the widened
    /// values, valid only during `body` (which must not widen another weight on the same thread meanwhile).
    public func withFloat<R>(_ body: (Tensor) throws -> R) rethrows -> R {
        switch storage {
        case .float(let t): return try body(t)
        case .half(let p, _, let mapped, let format):
            let scratch = ScratchBuffer.forCurrentThread(count: count)
            HalfPrecision.widen(p, format: format, into: scratch.pointer, count: count)
            if mapped { WeightTensor.releasePages(p, bytes: 2 * count) }
            return try body(Tensor(shape: shape, storage: TensorStorage(borrowing: scratch.pointer, count: count, owner: scratch)))
        }
    }
}

extension WeightTensor {
    private static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// Drops the resident pages lying wholly inside `bytes` bytes at `p` (clean pages of a private file mapping:
    /// the next read faults them in again from the file).
    static func releasePages(_ p: UnsafeRawPointer, bytes: Int) {
        let start = (Int(bitPattern: p) + pageSize - 1) / pageSize * pageSize
        let end = (Int(bitPattern: p) + bytes) / pageSize * pageSize
        if end > start { madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, Int32(MADV_DONTNEED)) }
    }
}

/// 16-bit floats → Float32, eight lanes at a time (F16C on x86-64 for IEEE half), split across the engine's threads.
public enum HalfPrecision {
    public static func widen(_ source: UnsafePointer<UInt16>, format: WeightTensor.HalfFormat = .fp16,
                             into destination: UnsafeMutablePointer<Float>, count: Int) {
        if format == .bf16 {
            parallelRanges(count, minimumChunk: 1 << 18) { range in widenBFloat16(source + range.lowerBound, into: destination + range.lowerBound, count: range.count) }
            return
        }
        parallelRanges(count, minimumChunk: 1 << 18) { range in widenHalf(source + range.lowerBound, into: destination + range.lowerBound, count: range.count) }
    }
}

extension HalfPrecision {
    /// bfloat16 → Float32 on the calling thread: each value is the upper 16 bits of its Float32.
    public static func widenBFloat16(_ s: UnsafePointer<UInt16>, into d: UnsafeMutablePointer<Float>, count n: Int) {
        var i = 0
        while i + 8 <= n {
            let h = UnsafeRawPointer(s + i).loadUnaligned(as: SIMD8<UInt16>.self)
            UnsafeMutableRawPointer(d + i).storeBytes(of: SIMD8<UInt32>(truncatingIfNeeded: h) &<< 16, as: SIMD8<UInt32>.self)
            i += 8
        }
        while i < n {
            d[i] = Float(bitPattern: UInt32(s[i]) << 16)
            i += 1
        }
    }

    /// IEEE half → Float32 on the calling thread.
    public static func widenHalf(_ s: UnsafePointer<UInt16>, into d: UnsafeMutablePointer<Float>, count n: Int) {
        var i = 0
        while i + 8 <= n {
            let h = UnsafeRawPointer(s + i).loadUnaligned(as: SIMD8<Float16>.self)
            UnsafeMutableRawPointer(d + i).storeBytes(of: SIMD8<Float>(h), as: SIMD8<Float>.self)
            i += 8
        }
        while i < n {
            d[i] = Float(Float16(bitPattern: s[i]))
            i += 1
        }
    }
}

/// A grow-only Float buffer per thread and use, for values that live only during one layer (widened weights,
/// Winograd's transformed weights and tiles): allocated once, so layers neither page-fault fresh memory nor hold any.
///
/// A caller owns a slot's buffer until it returns: nothing it calls on the same thread may ask for the same slot,
/// since growing it frees the memory in use. Buffers live as long as their thread.
final class ScratchBuffer {
    /// What a buffer holds; each use has its own, as one layer may need several at once.
    enum Slot: Int, CaseIterable {
        case widening, winogradWeights, winogradInput, winogradOutput, directInput, directOutput
        case oneDNNInput, oneDNNSecondInput, oneDNNOutput, oneDNNScratchpad
    }

    private(set) var pointer: UnsafeMutablePointer<Float>
    private var capacity: Int

    private init(count: Int) {
        capacity = count
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64).bindMemory(to: Float.self, capacity: max(count, 1))
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }

    private static let keys: [pthread_key_t] = Slot.allCases.map { _ in
        var key = pthread_key_t()
        pthread_key_create(&key) { raw in if let raw { Unmanaged<ScratchBuffer>.fromOpaque(raw).release() } }
        return key
    }

    /// This thread's buffer for `slot`, grown to hold at least `count` floats.
    static func forCurrentThread(count: Int, slot: Slot = .widening) -> ScratchBuffer {
        let key = keys[slot.rawValue]
        if let raw = pthread_getspecific(key) {
            let buffer = Unmanaged<ScratchBuffer>.fromOpaque(raw).takeUnretainedValue()
            if buffer.capacity < count {
                UnsafeMutableRawPointer(buffer.pointer).deallocate()
                buffer.capacity = count
                buffer.pointer = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64).bindMemory(to: Float.self, capacity: count)
            }
            return buffer
        }
        let buffer = ScratchBuffer(count: count)
        pthread_setspecific(key, Unmanaged.passRetained(buffer).toOpaque())
        return buffer
    }
}
