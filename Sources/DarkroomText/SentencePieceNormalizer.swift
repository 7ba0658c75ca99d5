/// sentencepiece's `Normalizer`: at each position the longest user-defined symbol, else the longest charsmap rule,
/// else one UTF-8 character (an invalid byte becomes U+FFFD); leading, repeated and trailing spaces removed; spaces
/// escaped as `▁`; `▁` prepended.
struct SentencePieceNormalizer: Sendable {
    private let charsMap: CharsMap?
    private let userDefined: PieceTrie?
    private let spec: SentencePieceModel.NormalizerSpec
    static let spaceSymbol: [UInt8] = Array("\u{2581}".utf8)

    init(_ model: SentencePieceModel) {
        spec = model.normalizer
        charsMap = model.charsMap
        let symbols = model.pieces.filter { $0.type == .userDefined }
        userDefined = symbols.isEmpty ? nil : PieceTrie(symbols.enumerated().map { (text: $0.element.text, id: $0.offset) })
    }

    /// The replacement of the rule at `position` and the bytes it consumes (`NormalizePrefix`).
    private func prefix(_ input: UnsafeBufferPointer<UInt8>, at position: Int) -> (ArraySlice<UInt8>, Int) {
        if let userDefined {
            var longest = 0
            userDefined.prefixes(input, from: position) { end, _ in longest = end - position }
            if longest > 0 { return (ArraySlice(input[position..<(position + longest)]), longest) }
        }
        if let charsMap, let match = charsMap.longestMatch(input, at: position) {
            return (match.replacement, match.length)
        }
        let length = SentencePieceNormalizer.validCharacterLength(input, at: position)
        if length == 0 { return (ArraySlice([0xEF, 0xBF, 0xBD]), 1) }
        return (ArraySlice(input[position..<(position + length)]), length)
    }

    /// Bytes of the valid UTF-8 character at `position`, or 0 when it is malformed.
    static func validCharacterLength(_ s: UnsafeBufferPointer<UInt8>, at position: Int) -> Int {
        let lead = s[position]
        let length = lead < 0x80 ? 1 : lead >> 5 == 0b110 ? 2 : lead >> 4 == 0b1110 ? 3 : lead >> 3 == 0b11110 ? 4 : 0
        guard length > 0, position + length <= s.count else { return 0 }
        var scalar = length == 1 ? UInt32(lead) : UInt32(lead) & (0x7F >> length)
        for i in 1..<max(length, 1) where length > 1 {
            let c = s[position + i]
            guard c & 0xC0 == 0x80 else { return 0 }
            scalar = scalar << 6 | UInt32(c & 0x3F)
        }
        let minimum: UInt32 = [0, 0, 0x80, 0x800, 0x10000][length]
        guard scalar >= minimum, scalar < 0x110000, !(0xD800...0xDFFF).contains(scalar) else { return 0 }
        return length
    }

    func normalize(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBufferPointer { input in
            var out: [UInt8] = []
            out.reserveCapacity(input.count * 3)
            var position = 0
            let space: UInt8 = 0x20
            if spec.removeExtraWhitespaces {
                while position < input.count {
                    let (replacement, consumed) = prefix(input, at: position)
                    if !replacement.elementsEqual([space]) { break }
                    position += consumed
                }
            }
            if position >= input.count { return [] }
            let escapedSpace = spec.escapeWhitespaces ? SentencePieceNormalizer.spaceSymbol : [space]
            if spec.addDummyPrefix { out += escapedSpace }
            var previousIsSpace = spec.removeExtraWhitespaces
            while position < input.count {
                let (replacement, consumed) = prefix(input, at: position)
                var piece = replacement
                if previousIsSpace { while piece.first == space { piece = piece.dropFirst() } }
                if !piece.isEmpty {
                    for b in piece { if spec.escapeWhitespaces && b == space { out += SentencePieceNormalizer.spaceSymbol } else { out.append(b) } }
                    previousIsSpace = piece.last == space
                }
                position += consumed
                if !spec.removeExtraWhitespaces { previousIsSpace = false }
            }
            if spec.removeExtraWhitespaces {
                while out.count >= escapedSpace.count, out.suffix(escapedSpace.count).elementsEqual(escapedSpace) {
                    out.removeLast(escapedSpace.count)
                }
            }
            return out
        }
    }
}
