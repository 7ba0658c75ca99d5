import Foundation

/// What a job runs: a resolved edit, or nothing for a drop rejected at intake; and, for a stored job whose parameters
/// no longer decode (written by another Darkroom), the reason, so running it fails naming the job instead of
/// guessing.
public enum JobParameters: Equatable, Sendable {
    case edit(EditRequest)
    /// A drop rejected at intake: it never runs.
    case rejection
    /// Stored parameters that no longer decode: the text, kept as it was, and what the decoder said.
    case unreadable(json: String, reason: String)

    /// The stored JSON text: the request with sorted keys, "{}" for a rejection; unreadable text as it was.
    public var json: String {
        switch self {
        case .edit(let request):
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return (try? encoder.encode(request)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        case .rejection: return "{}"
        case .unreadable(let json, _): return json
        }
    }

    /// The edit, when there is one.
    public var request: EditRequest? {
        if case .edit(let request) = self { return request }
        return nil
    }

    /// Reads stored parameters of a job in `state`: a rejection's are "{}"; anything else must decode.
    public init(json: String, state: JobState) {
        if state == .rejected {
            self = .rejection
            return
        }
        do { self = .edit(try JSONDecoder().decode(EditRequest.self, from: Data(json.utf8))) } catch {
            self = .unreadable(json: json, reason: JobParameters.describe(error))
        }
    }

    /// A decoding error in a sentence: the key path and what was wrong.
    static func describe(_ error: any Error) -> String {
        func path(_ keys: [CodingKey]) -> String { keys.isEmpty ? "the top level" : keys.map(\.stringValue).joined(separator: ".") }
        switch error as? DecodingError {
        case .keyNotFound(let key, let c)?: return "\(path(c.codingPath + [key])) is missing"
        case .typeMismatch(_, let c)?, .valueNotFound(_, let c)?: return "\(path(c.codingPath)): \(c.debugDescription)"
        case .dataCorrupted(let c)?: return "\(path(c.codingPath)): \(c.debugDescription)"
        default: return "\(error)"
        }
    }
}
