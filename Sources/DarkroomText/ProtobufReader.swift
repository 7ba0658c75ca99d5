/// Reads protocol-buffer wire format: the handful of field kinds a SentencePiece `.model` uses (varints, 32-bit
/// floats, length-delimited strings and messages), skipping everything else.
///
/// Every read is bounds-checked: a truncated or corrupt file throws `ProtobufReader.Malformed`, it never traps.
struct ProtobufReader {
    struct Malformed: Error { let reason: String }

    enum WireType: UInt64 {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, startGroup = 3, endGroup = 4, fixed32 = 5
    }

    private let bytes: [UInt8]
    private var position: Int
    private let end: Int

    init(_ bytes: [UInt8]) { self.init(bytes, range: 0..<bytes.count) }

    private init(_ bytes: [UInt8], range: Range<Int>) {
        self.bytes = bytes
        position = range.lowerBound
        end = range.upperBound
    }

    var isAtEnd: Bool { position >= end }

    /// The next field's number and wire type.
    mutating func nextField() throws -> (number: Int, type: WireType) {
        let key = try varint()
        guard let type = WireType(rawValue: key & 7) else { throw Malformed(reason: "unknown wire type \(key & 7) at byte \(position)") }
        let number = Int(key >> 3)
        guard number > 0 else { throw Malformed(reason: "field number 0 at byte \(position)") }
        return (number, type)
    }

    mutating func varint() throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else { throw Malformed(reason: "truncated varint") }
            let byte = bytes[position]
            position += 1
            guard shift < 64 else { throw Malformed(reason: "varint longer than 10 bytes") }
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }

    /// An int32 field (negative values arrive as 10-byte varints).
    mutating func int32() throws -> Int { Int(Int32(truncatingIfNeeded: Int64(bitPattern: try varint()))) }

    mutating func bool() throws -> Bool { try varint() != 0 }

    /// A varint that must fit a small non-negative Int (an enum value, a model type).
    mutating func smallInt() throws -> Int {
        let v = try varint()
        guard v <= UInt64(Int32.max) else { throw Malformed(reason: "value \(v) out of range") }
        return Int(v)
    }

    mutating func float() throws -> Float {
        guard end - position >= 4 else { throw Malformed(reason: "truncated float") }
        var bits: UInt32 = 0
        for i in 0..<4 { bits |= UInt32(bytes[position + i]) << (8 * UInt32(i)) }
        position += 4
        return Float(bitPattern: bits)
    }

    /// The bytes of a length-delimited field.
    mutating func lengthDelimited() throws -> ArraySlice<UInt8> {
        let length = try varint()
        guard length <= UInt64(end - position) else { throw Malformed(reason: "a field of \(length) bytes runs past the end") }
        let range = position..<(position + Int(length))
        position = range.upperBound
        return bytes[range]
    }

    mutating func string() throws -> String {
        let slice = try lengthDelimited()
        guard let s = String(validating: slice, as: UTF8.self) else { throw Malformed(reason: "a string field is not UTF-8") }
        return s
    }

    /// A reader over an embedded message.
    mutating func message() throws -> ProtobufReader {
        let slice = try lengthDelimited()
        return ProtobufReader(bytes, range: slice.startIndex..<slice.endIndex)
    }

    /// Skips a field of `type` that the caller does not read.
    mutating func skip(_ type: WireType) throws {
        switch type {
        case .varint: _ = try varint()
        case .fixed64:
            guard end - position >= 8 else { throw Malformed(reason: "truncated 64-bit field") }
            position += 8
        case .fixed32:
            guard end - position >= 4 else { throw Malformed(reason: "truncated 32-bit field") }
            position += 4
        case .lengthDelimited: _ = try lengthDelimited()
        case .startGroup, .endGroup: throw Malformed(reason: "groups are not used by SentencePiece models")
        }
    }
}
