import Foundation

/// A file of a job as it travels through the database: an input intake stored, or an output a worker wrote.
///
/// Workers on other hosts share no file system with the intake: they read a job's inputs from the store and hand
/// its outputs back to it, and the gallery host writes them into `gallery/jobs/<id>/`.
public struct JobFile: Equatable, Sendable {
    /// For inputs the sidecar field ("image" or "mask"); for outputs the `ResultKind`'s raw value.
    public var role: String
    /// The path relative to the job folder: `inputs/cat.png`, `result-2.png`.
    public var name: String
    public var data: Data

    public init(role: String, name: String, data: Data) {
        self.role = role
        self.name = name
        self.data = data
    }

    /// True for a name that stays inside a job folder: relative, no `..`, no empty or dot components.
    public static func isSafeRelativeName(_ name: String) -> Bool {
        guard !name.isEmpty, !name.hasPrefix("/"), !name.contains("\0") else { return false }
        return name.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
    }
}
