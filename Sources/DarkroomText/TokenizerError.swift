/// A tokenizer file Darkroom cannot use, naming the file and what is wrong with it.
public struct TokenizerError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let reason: String

    public init(path: String, _ reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}
