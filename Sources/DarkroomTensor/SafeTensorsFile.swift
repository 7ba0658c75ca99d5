import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A safetensors file, memory-mapped: tensors are read on demand, and aligned F32 data is used without a copy.
///
/// Layout: an 8-byte little-endian header length N, N bytes of JSON describing each tensor (dtype, shape, byte
/// offsets into the data area), then the data area. Every offset and size is checked when the file is opened.
// @unchecked Sendable: the mapping and the parsed header are immutable after init; tensors are read-only views.
public final class SafeTensorsFile: SafeTensorsSource, @unchecked Sendable {
    /// Where a tensor lives in the file.
    public struct Entry: Sendable {
        public let dtype: SafeTensorsDType
        public let shape: [Int]
        let begin: Int
        let end: Int
    }

    /// Path the file was opened from (used in error messages).
    public let path: String
    /// Tensor descriptions by name.
    public let entries: [String: Entry]
    /// The optional `__metadata__` string map.
    public let metadata: [String: String]

    private let base: UnsafeMutableRawPointer?
    private let mappedLength: Int
    private let dataStart: Int

    /// Tensor names, sorted.
    public var names: [String] { entries.keys.sorted() }

    /// Opens and validates `path`.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw TensorError.malformedFile(path: path, tensor: nil, reason: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw TensorError.malformedFile(path: path, tensor: nil, reason: "cannot stat")
        }
        let length = Int(info.st_size)
        guard length >= 8 else {
            throw TensorError.malformedFile(path: path, tensor: nil, reason: "truncated: \(length) bytes, shorter than the 8-byte header length")
        }
        guard let map = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0), map != MAP_FAILED else {
            throw TensorError.malformedFile(path: path, tensor: nil, reason: "cannot memory-map: \(String(cString: strerror(errno)))")
        }
        base = map
        mappedLength = length
        var headerLength: UInt64 = 0
        withUnsafeMutableBytes(of: &headerLength) { $0.copyMemory(from: UnsafeRawBufferPointer(start: map, count: 8)) }
        headerLength = UInt64(littleEndian: headerLength)
        guard headerLength <= UInt64(length - 8) else {
            munmap(map, length)
            throw TensorError.malformedFile(path: path, tensor: nil, reason: "header length \(headerLength) exceeds file size \(length)")
        }
        dataStart = 8 + Int(headerLength)
        let headerData = Data(bytes: map + 8, count: Int(headerLength))
        do {
            (entries, metadata) = try SafeTensorsFile.parseHeader(headerData, path: path, dataLength: length - dataStart)
        } catch {
            munmap(map, length)
            throw error
        }
    }

    deinit {
        if let base { munmap(base, mappedLength) }
    }

    private static func parseHeader(_ data: Data, path: String, dataLength: Int) throws -> ([String: Entry], [String: String]) {
        guard let json = try? JSONSerialization.jsonObject(with: data), let object = json as? [String: Any] else {
            throw TensorError.malformedFile(path: path, tensor: nil, reason: "header is not a JSON object")
        }
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in object {
            if name == "__metadata__" {
                guard let map = value as? [String: String] else {
                    throw TensorError.malformedFile(path: path, tensor: nil, reason: "__metadata__ must map strings to strings")
                }
                metadata = map
                continue
            }
            guard let info = value as? [String: Any], let dtypeName = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2 else {
                throw TensorError.malformedFile(path: path, tensor: name, reason: "entry needs dtype, shape and data_offsets")
            }
            guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
                throw TensorError.malformedFile(path: path, tensor: name, reason: "unsupported dtype \(dtypeName) (supported: F32, F16, BF16, I64)")
            }
            guard shape.allSatisfy({ $0 >= 0 }) else {
                throw TensorError.malformedFile(path: path, tensor: name, reason: "negative extent in shape \(shape)")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, end >= begin else {
                throw TensorError.malformedFile(path: path, tensor: name, reason: "bad data_offsets \(offsets)")
            }
            guard end <= dataLength else {
                throw TensorError.malformedFile(path: path, tensor: name, reason: "truncated: data ends at byte \(end) but the file holds \(dataLength) data bytes")
            }
            let expected = shape.reduce(1, *) * dtype.size
            guard end - begin == expected else {
                throw TensorError.malformedFile(path: path, tensor: name, reason: "shape \(shape) of \(dtypeName) needs \(expected) bytes, offsets give \(end - begin)")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, begin: begin, end: end)
        }
        return (entries, metadata)
    }

    /// True when the file holds a tensor called `name`.
    public func contains(_ name: String) -> Bool { entries[name] != nil }

    /// The tensor `name` as Float32: F32 without copying when aligned; F16, BF16 and I64 converted.
    public func tensor(_ name: String) throws -> Tensor {
        guard let entry = entries[name], let base else { throw TensorError.missingTensor(path: path, name: name) }
        let count = entry.shape.reduce(1, *)
        let raw = UnsafeRawPointer(base + dataStart + entry.begin)
        switch entry.dtype {
        case .f32:
            if Int(bitPattern: raw) % MemoryLayout<Float>.alignment == 0 {
                let p = UnsafeMutablePointer(mutating: raw.assumingMemoryBound(to: Float.self))
                return Tensor(shape: entry.shape, storage: TensorStorage(borrowing: p, count: count, owner: self))
            }
            let out = Tensor(uninitialized: entry.shape)
            UnsafeMutableRawPointer(out.pointer).copyMemory(from: raw, byteCount: count * 4)
            return out
        case .f16:
            return try weight(name).widened()
        case .bf16:
            return try weight(name).widened()
        case .i64:
            let out = Tensor(uninitialized: entry.shape)
            for i in 0..<count { out.pointer[i] = Float(raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)) }
            return out
        }
    }

    /// The tensor `name` as a weight: F16 and BF16 kept in 16 bits without a copy (when aligned), anything else as
    /// `tensor(_:)` gives it.
    public func weight(_ name: String) throws -> WeightTensor {
        guard let entry = entries[name], let base else { throw TensorError.missingTensor(path: path, name: name) }
        let raw = UnsafeRawPointer(base + dataStart + entry.begin)
        let format: WeightTensor.HalfFormat
        switch entry.dtype {
        case .f16: format = .fp16
        case .bf16: format = .bf16
        default: return WeightTensor(try tensor(name))
        }
        if Int(bitPattern: raw) % 2 == 0 {
            return WeightTensor(half: raw.assumingMemoryBound(to: UInt16.self), shape: entry.shape, owner: self, mapped: true, format: format)
        }
        let count = entry.shape.reduce(1, *)
        let copy = UnsafeMutablePointer<UInt16>.allocate(capacity: max(count, 1))
        UnsafeMutableRawPointer(copy).copyMemory(from: raw, byteCount: count * 2)
        return WeightTensor(half: copy, shape: entry.shape, owner: OwnedHalfBuffer(copy), format: format)
    }

    /// The integer tensor `name` (I64) as Int values.
    public func int64Values(_ name: String) throws -> [Int64] {
        guard let entry = entries[name], let base else { throw TensorError.missingTensor(path: path, name: name) }
        guard entry.dtype == .i64 else {
            throw TensorError.malformedFile(path: path, tensor: name, reason: "expected I64, found \(entry.dtype.rawValue)")
        }
        let raw = UnsafeRawPointer(base + dataStart + entry.begin)
        return (0..<entry.shape.reduce(1, *)).map { raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self) }
    }
}

/// Half-precision values copied out of an unaligned file, freed with their last user.
final class OwnedHalfBuffer {
    let pointer: UnsafeMutablePointer<UInt16>
    init(_ pointer: UnsafeMutablePointer<UInt16>) { self.pointer = pointer }
    deinit { pointer.deallocate() }
}
