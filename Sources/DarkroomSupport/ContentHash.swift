import Foundation

/// 64-bit FNV-1a over a sequence of parts (each part ends with a separator, so ["ab", "c"] ≠ ["a", "bc"]): content
/// hashes for duplicate detection and short stable suffixes for names.
public struct ContentHash {
    public private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

    public init() {}

    public mutating func add(_ data: Data) {
        for b in data { value = (value ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        value = (value ^ 0xFF) &* 0x0000_0100_0000_01B3
    }

    public mutating func add(_ text: String) { add(Data(text.utf8)) }

    /// 16 lowercase hex digits.
    public var hex: String { String(format: "%016llx", value) }
}
