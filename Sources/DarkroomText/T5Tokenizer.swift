/// T5's tokenizer as transformers 5 builds it from a `spiece.model` (`T5Tokenizer`, on the tokenizers library), which
/// is what DeepFloyd IF's pipeline uses, and which differs from sentencepiece's own segmentation in places:
///
/// 1. Special tokens (`<pad>`, `</s>`, `<unk>`, control pieces, `<extra_id_0>`…`<extra_id_99>`) are cut out of the raw
///    text first, leftmost-longest; the text between them is tokenized piece by piece.
/// 2. Each grapheme cluster shorter than 6 bytes is replaced whole by the charsmap rule of its *shortest* matching
///    prefix; otherwise its characters are mapped one by one (tokenizers' `Precompiled`).
/// 3. The text is split at Unicode whitespace; each word gets a `▁` unless it starts with one, and is split again
///    before every further `▁`.
/// 4. Each part is segmented by unigram Viterbi in `Double` over every vocabulary entry, runs of unknowns fused into
///    one `<unk>`; there is no byte fallback.
/// 5. `</s>` is appended; `encodeForT5` truncates to 76 pieces + `</s>` and pads with `<pad>` to 77, as the pipeline
///    asks (`max_length=77, padding="max_length", truncation=True`).
///
/// Extra ids are numbered after the model's pieces in reverse: with 32000 pieces `<extra_id_0>` is 32099.
public struct T5Tokenizer: Sendable {
    public let model: SentencePieceModel
    /// Vocabulary size: the model's pieces and the extra ids.
    public let vocabularySize: Int
    public let padID: Int
    public let endID: Int
    public let unknownID: Int
    private let charsMap: CharsMap?
    private let trie: PieceTrie
    private let scores: [Double]
    private let idByText: [String: Int]
    /// Special and user-defined tokens, matched in the raw text.
    private let addedTokens: PieceTrie
    private let minScore: Double

    /// How many `<extra_id_N>` tokens transformers adds by default (`extra_ids` in tokenizer_config.json).
    public static let defaultExtraIDs = 100

    public init(model: SentencePieceModel, extraIDs: Int = T5Tokenizer.defaultExtraIDs) throws {
        self.model = model
        var texts = model.pieces.map(\.text)
        var scores = model.pieces.map { Double($0.score) }
        for i in stride(from: extraIDs - 1, through: 0, by: -1) {
            texts.append("<extra_id_\(i)>")
            scores.append(0)
        }
        vocabularySize = texts.count
        self.scores = scores
        var byText = [String: Int]()
        for (i, t) in texts.enumerated() { byText[t] = i }   // a later duplicate wins, as in tokenizers' map
        idByText = byText
        trie = PieceTrie(texts.enumerated().map { (text: $0.element, id: byText[$0.element]!) })
        minScore = scores.min() ?? 0
        charsMap = model.charsMap
        func id(_ text: String) throws -> Int {
            guard let id = byText[text] else { throw TokenizerError(path: model.path, "T5 needs the piece \(text), which the model lacks") }
            return id
        }
        padID = try id("<pad>")
        endID = try id("</s>")
        unknownID = model.unknownID
        var added = Set(["<pad>", "</s>", model.pieces[model.unknownID].text])
        for p in model.pieces where p.type == .control || p.type == .userDefined { added.insert(p.text) }
        for i in 0..<extraIDs { added.insert("<extra_id_\(i)>") }
        addedTokens = PieceTrie(added.map { (text: $0, id: byText[$0]!) })
    }

    /// The tokenizer of a `spiece.model` file.
    public init(path: String, extraIDs: Int = T5Tokenizer.defaultExtraIDs) throws {
        try self.init(model: try SentencePieceModel(path: path), extraIDs: extraIDs)
    }

    /// The ids of `text` with `</s>` appended, neither truncated nor padded.
    public func encode(_ text: String) -> [Int] {
        var ids: [Int] = []
        let bytes = Array(text.utf8)
        bytes.withUnsafeBufferPointer { raw in
            var segmentStart = 0
            var i = 0
            while i < raw.count {
                var longest: (end: Int, id: Int)?
                addedTokens.prefixes(raw, from: i) { end, id in longest = (end, id) }
                if let (end, id) = longest {
                    if segmentStart < i { ids += encodeSegment(String(decoding: raw[segmentStart..<i], as: UTF8.self)) }
                    ids.append(id)
                    i = end
                    segmentStart = end
                } else {
                    i += 1
                }
            }
            if segmentStart < raw.count { ids += encodeSegment(String(decoding: raw[segmentStart...], as: UTF8.self)) }
        }
        ids.append(endID)
        return ids
    }

    /// Token ids as the IF pipeline feeds T5: at most `length − 1` pieces, then `</s>`, then `<pad>` up to `length`.
    public func encodeForT5(_ text: String, length: Int = 77) -> (ids: [Int], tokens: Int, truncated: Bool) {
        var ids = encode(text)
        let truncated = ids.count > length
        if truncated { ids = Array(ids.prefix(length - 1)) + [endID] }
        let tokens = ids.count
        return (ids + Array(repeating: padID, count: length - ids.count), tokens, truncated)
    }

    /// The text of piece `id` (for `darkroom encode --tokens`).
    public func piece(_ id: Int) -> String {
        id < model.pieces.count ? model.pieces[id].text : id < vocabularySize ? "<extra_id_\(vocabularySize - 1 - id)>" : "?"
    }

    private func normalized(_ segment: String) -> String {
        guard let charsMap else { return segment }
        var out: [UInt8] = []
        for grapheme in segment {
            let bytes = Array(grapheme.utf8)
            if bytes.count < 6, let r = bytes.withUnsafeBufferPointer({ charsMap.firstMatch($0) }) {
                out += r
                continue
            }
            for scalar in grapheme.unicodeScalars {
                let one = Array(String(scalar).utf8)
                if let r = one.withUnsafeBufferPointer({ charsMap.firstMatch($0) }) { out += r } else { out += one }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private func encodeSegment(_ segment: String) -> [Int] {
        var ids: [Int] = []
        let space: Unicode.Scalar = "\u{2581}"
        for word in normalized(segment).unicodeScalars.split(whereSeparator: { $0.properties.isWhitespace }) {
            var scalars = Array(word)
            if scalars.first != space { scalars.insert(space, at: 0) }
            var start = 0
            for i in 1...scalars.count where i == scalars.count || scalars[i] == space {
                var part = String.UnicodeScalarView()
                part.append(contentsOf: scalars[start..<i])
                ids += segmentPart(String(part))
                start = i
            }
        }
        return ids
    }

    /// Viterbi over one `▁`-led part, unknowns fused.
    private func segmentPart(_ part: String) -> [Int] {
        let bytes = Array(part.utf8)
        return bytes.withUnsafeBufferPointer { b in
            let path = UnigramViterbi.segment(b, trie: trie, unknownID: unknownID, unknownScore: minScore - 10) { id, _ in scores[id] }
            var ids: [Int] = []
            var fused: (start: Int, end: Int)?
            func flush() {
                guard let f = fused else { return }
                ids.append(idByText[String(decoding: b[f.start..<f.end], as: UTF8.self)] ?? unknownID)
                fused = nil
            }
            for node in path {
                if node.id == unknownID {
                    fused = (fused?.start ?? node.start, node.end)
                } else {
                    flush()
                    ids.append(node.id)
                }
            }
            flush()
            return ids
        }
    }
}
