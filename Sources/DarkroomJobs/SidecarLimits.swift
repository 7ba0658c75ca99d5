import Foundation

/// Bounds on what one drop may ask for, so that no sidecar can make a job (or its error note, record and page)
/// arbitrarily large or slow. Each is checked at intake, with an error naming the field.
public enum SidecarLimits {
    /// Size of the sidecar file.
    public static let sidecarBytes = 64 * 1024
    /// Characters of `prompt` and of each of `prompts`.
    public static let promptCharacters = 1_000
    /// Entries of a list field (`t`, `noise_levels`).
    public static let listEntries = 64
    /// Size of an image or mask file.
    public static let imageBytes = 64 * 1024 * 1024
    /// Bytes of one path component (the file system's limit).
    public static let nameBytes = 255
}

/// Finds the field whose number JSON parsers refuse because it does not fit a double (`1e400`), so the error can
/// name it. A small scanner: strings are skipped, the last object key before a number is its field.
enum UnrepresentableNumber {
    static func field(in data: Data) -> String? {
        let bytes = [UInt8](data)
        var i = 0
        var lastString: String?
        var key: String?
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                var j = i + 1
                while j < bytes.count, bytes[j] != UInt8(ascii: "\"") { j += bytes[j] == UInt8(ascii: "\\") ? 2 : 1 }
                lastString = String(decoding: bytes[(i + 1)..<min(j, bytes.count)], as: UTF8.self)
                i = j + 1
                continue
            }
            if b == UInt8(ascii: ":") { key = lastString }
            if b == UInt8(ascii: "-") || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) {
                var j = i
                while j < bytes.count, "+-.eE0123456789".utf8.contains(bytes[j]) { j += 1 }
                let literal = String(decoding: bytes[i..<j], as: UTF8.self)
                if let d = Double(literal), !d.isFinite { return key ?? "?" }
                i = j
                continue
            }
            i += 1
        }
        return nil
    }
}
