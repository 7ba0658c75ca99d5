import Foundation

/// The memory behind a tensor: an aligned buffer it owns, or a borrowed region kept alive by an owner.
// @unchecked Sendable: the buffer's address and size never change after init; element writes are the callers' to
// keep disjoint (see `Tensor`).
public final class TensorStorage: @unchecked Sendable {
    /// First element.
    public let pointer: UnsafeMutablePointer<Float>
    /// Number of Float elements.
    public let count: Int
    private let owner: AnyObject?
    private let ownsMemory: Bool

    /// Allocates `count` zeroed floats, aligned to 64 bytes.
    public init(count: Int) {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
        self.count = count
        owner = nil
        ownsMemory = true
    }

    /// Allocates `count` floats without clearing them; the caller writes every element.
    public init(uninitializedCount count: Int) {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
        owner = nil
        ownsMemory = true
    }

    /// Wraps memory that belongs to `owner` (a memory-mapped file, for example) without copying it.
    public init(borrowing pointer: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject) {
        self.pointer = pointer
        self.count = count
        self.owner = owner
        ownsMemory = false
    }

    deinit {
        if ownsMemory { UnsafeMutableRawPointer(pointer).deallocate() }
    }
}
