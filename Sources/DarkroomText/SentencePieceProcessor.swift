/// A unigram SentencePiece model that turns text into piece ids exactly as the sentencepiece library's
/// `SentencePieceProcessor.encode` does: normalise (charsmap rules, whitespace, `▁` dummy prefix), segment by Viterbi
/// in `Float`, merge runs of unknowns into one `<unk>` (or spell them as `<0xXX>` byte pieces with byte fallback).
public struct SentencePieceProcessor: Sendable {
    public let model: SentencePieceModel
    private let normalizer: SentencePieceNormalizer
    private let trie: PieceTrie
    private let minScore: Float
    private let maxScore: Float
    private let byteIDs: [Int]

    public init(model: SentencePieceModel) throws {
        self.model = model
        normalizer = SentencePieceNormalizer(model)
        // Normal, user-defined and unused pieces are matched in text; control, unknown and byte pieces are not.
        trie = PieceTrie(model.pieces.enumerated().filter { [.normal, .userDefined, .unused].contains($0.element.type) }
            .map { (text: $0.element.text, id: $0.offset) })
        let normalScores = model.pieces.filter { $0.type == .normal }.map(\.score)
        minScore = normalScores.min() ?? .greatestFiniteMagnitude
        maxScore = max(normalScores.max() ?? 0, Float.leastNormalMagnitude)   // C++ starts from FLT_MIN
        if model.byteFallback {
            var byID = [String: Int]()
            for (i, p) in model.pieces.enumerated() where p.type == .byte { byID[p.text] = i }
            byteIDs = try (0..<256).map { b in
                let name = SentencePieceProcessor.bytePiece(UInt8(b))
                guard let id = byID[name] else { throw TokenizerError(path: model.path, "byte fallback is on but the piece \(name) is missing") }
                return id
            }
        } else {
            byteIDs = []
        }
    }

    public init(path: String) throws { try self.init(model: try SentencePieceModel(path: path)) }

    /// The name of the byte piece for `b`: `<0x41>`.
    static func bytePiece(_ b: UInt8) -> String {
        let hex = String(b, radix: 16, uppercase: true)
        return "<0x\(hex.count == 1 ? "0" + hex : hex)>"
    }

    /// The normalised text sentencepiece segments (with `▁` for spaces).
    public func normalize(_ text: String) -> String {
        String(decoding: normalizer.normalize(Array(text.utf8)), as: UTF8.self)
    }

    /// The piece ids of `text`.
    public func encode(_ text: String) -> [Int] {
        let normalized = normalizer.normalize(Array(text.utf8))
        return normalized.withUnsafeBufferPointer { bytes in
            let path = UnigramViterbi.segment(bytes, trie: trie, unknownID: model.unknownID, unknownScore: minScore - 10) { id, length in
                switch model.pieces[id].type {
                case .unused: return nil
                case .userDefined: return Float(length) * maxScore - 0.1
                default: return model.pieces[id].score
                }
            }
            var ids: [Int] = []
            var previousUnknown = false
            for node in path {
                let unknown = node.id == model.unknownID
                if unknown, model.byteFallback {
                    for i in node.start..<node.end { ids.append(byteIDs[Int(bytes[i])]) }
                } else if !(unknown && previousUnknown) {
                    ids.append(node.id)
                }
                previousUnknown = unknown
            }
            return ids
        }
    }
}
