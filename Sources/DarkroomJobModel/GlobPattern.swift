import Foundation

/// A shell-style file-name pattern (`*`, `?`, `[abc]`, `[a-z]`, `[!abc]`, `\` escaping the next character), parsed
/// once: a pattern that does not parse (an unclosed `[`, a trailing `\`, an empty one) is an error naming it.
public struct GlobPattern: Equatable, Sendable, CustomStringConvertible {
    enum Token: Equatable, Sendable {
        case literal(Character)
        case any
        case anyRun
        /// A bracket set: ranges of characters, negated by a leading `!` or `^`.
        case set([ClosedRange<Character>], negated: Bool)
    }

    public let description: String
    let tokens: [Token]

    /// Parses `pattern`.
    public init(_ pattern: String) throws {
        description = pattern
        guard !pattern.isEmpty else { throw GlobPatternError(pattern: pattern, reason: "it is empty") }
        var tokens: [Token] = []
        var chars = Array(pattern)[...]
        while let c = chars.popFirst() {
            switch c {
            case "*": if tokens.last != .anyRun { tokens.append(.anyRun) }
            case "?": tokens.append(.any)
            case "\\":
                guard let next = chars.popFirst() else { throw GlobPatternError(pattern: pattern, reason: "it ends in a lone '\\'") }
                tokens.append(.literal(next))
            case "[":
                var negated = false
                if let first = chars.first, first == "!" || first == "^" { negated = true; chars.removeFirst() }
                var ranges: [ClosedRange<Character>] = []
                var closed = false
                var firstInSet = true
                while let d = chars.popFirst() {
                    if d == "]", !firstInSet { closed = true; break }
                    firstInSet = false
                    var low = d
                    if low == "\\" {
                        guard let e = chars.popFirst() else { break }
                        low = e
                    }
                    if chars.count >= 2, chars.first == "-", chars[chars.index(after: chars.startIndex)] != "]" {
                        chars.removeFirst()
                        let high = chars.removeFirst()
                        guard low <= high else { throw GlobPatternError(pattern: pattern, reason: "the range '\(low)-\(high)' runs backwards") }
                        ranges.append(low...high)
                    } else {
                        ranges.append(low...low)
                    }
                }
                guard closed else { throw GlobPatternError(pattern: pattern, reason: "a '[' is never closed by ']'") }
                tokens.append(.set(ranges, negated: negated))
            default: tokens.append(.literal(c))
            }
        }
        self.tokens = tokens
    }

    /// True when the whole of `name` matches (`*` and `?` match `/` too: patterns are matched against one name).
    public func matches(_ name: String) -> Bool {
        let s = Array(name)
        // Iterative matching with one backtrack point per `*`: linear in practice, never exponential.
        var i = 0, t = 0
        var starToken = -1, starIndex = 0
        while i < s.count {
            if t < tokens.count {
                switch tokens[t] {
                case .anyRun:
                    starToken = t; starIndex = i; t += 1
                    continue
                case .any:
                    i += 1; t += 1
                    continue
                case .literal(let c) where c == s[i]:
                    i += 1; t += 1
                    continue
                case .set(let ranges, let negated) where ranges.contains(where: { $0.contains(s[i]) }) != negated:
                    i += 1; t += 1
                    continue
                default: break
                }
            }
            guard starToken >= 0 else { return false }
            starIndex += 1
            i = starIndex
            t = starToken + 1
        }
        while t < tokens.count, tokens[t] == .anyRun { t += 1 }
        return t == tokens.count
    }
}

/// A pattern of config.json's `"ignore"` that does not parse.
public struct GlobPatternError: Error, CustomStringConvertible {
    public let pattern: String
    public let reason: String
    public var description: String { "the pattern '\(pattern)' does not parse: \(reason)" }
}
