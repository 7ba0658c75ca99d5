import Foundation

/// Seconds a finished job spent in each phase ("load", "sample", "write", …), as the worker timed
/// them. Stored as a JSON object of phase → seconds (the `timings` column), read the same by every engine.
public struct JobTimings: Equatable, Sendable {
    public var seconds: [String: Double]

    public init(_ seconds: [String: Double]) { self.seconds = seconds }

    /// All phases together.
    public var total: Double { seconds.values.reduce(0, +) }

    /// The phases by name.
    public var phases: [(name: String, seconds: Double)] { seconds.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }

    /// The stored JSON text (keys sorted).
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(seconds)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// Reads stored JSON text; throws when it is not an object of numbers.
    public init(json: String) throws {
        self.init(try JSONDecoder().decode([String: Double].self, from: Data(json.utf8)))
    }
}
