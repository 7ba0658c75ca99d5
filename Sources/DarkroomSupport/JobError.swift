import Foundation

/// A problem with a job's input, naming the field at fault; the job is rejected, nothing is lost.
public struct JobError: Error, CustomStringConvertible, Equatable {
    /// The sidecar or config field at fault (nil when the whole file is).
    public let field: String?
    public let message: String

    public init(field: String?, _ message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { field.map { "\($0): \(message)" } ?? message }

    /// At most `limit` characters of a value for an error message (a 10 MB prompt must not make a 10 MB note);
    /// control characters are shown escaped.
    public static func quote(_ value: String, limit: Int = 60) -> String {
        var out = ""
        for (k, c) in value.enumerated() {
            if k == limit { return out + "…" }
            if c.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) { out.append(c) } else {
                out += c.unicodeScalars.map { String(format: "\\u%04x", $0.value) }.joined()
            }
        }
        return out
    }
}
