import Foundation

/// Finds which class a prompt names: "a photo of a sneaker" → sneaker; "" → none.
///
/// Class names are matched as whole words, case-insensitively, the longest first ("t-shirt" before "shirt").
/// A prompt that names no class, or two different ones, is an error listing the known classes.
public struct ClassPrompt {
    public let classes: [String]

    public init(classes: [String]) { self.classes = classes }

    /// The class index a prompt names, or nil for the empty (unconditional) prompt.
    public func classIndex(for prompt: String) throws -> Int? {
        let text = prompt.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        if text.isEmpty { return nil }
        if classes.isEmpty {
            throw ModelError.badInput("this model has no classes; use the empty prompt \"\" (got \"\(ModelError.quote(prompt))\")")
        }
        var remaining = " " + text.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : " " }.map(String.init).joined() + " "
        var found: [Int] = []
        for (index, name) in classes.enumerated().sorted(by: { $0.element.count > $1.element.count }) {
            let needle = " " + name.lowercased() + " "
            if remaining.contains(needle) {
                found.append(index)
                remaining = remaining.replacingOccurrences(of: needle, with: " ")
            }
        }
        guard found.count == 1 else {
            let known = classes.joined(separator: ", ")
            if found.isEmpty { throw ModelError.badInput("prompt \"\(ModelError.quote(prompt))\" names no known class (known: \(known))") }
            throw ModelError.badInput("prompt \"\(ModelError.quote(prompt))\" names several classes (\(found.map { classes[$0] }.joined(separator: ", "))); name one of: \(known)")
        }
        return found[0]
    }
}
