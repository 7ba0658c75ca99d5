/// The best segmentation of a string into pieces: unigram Viterbi over the lattice of every matching piece, with an
/// unknown node of `unknownScore` over one character wherever no piece of exactly that character starts (sentencepiece's
/// `EncodeOptimized`; tokenizers' `encode_optimized` is the same in `Double`).
enum UnigramViterbi {
    /// Pieces of `bytes` as (start, end, id) in order; `score(id, length)` gives a piece's score (nil: skip it).
    static func segment<Score: BinaryFloatingPoint>(_ bytes: UnsafeBufferPointer<UInt8>, trie: PieceTrie, unknownID: Int,
                                                     unknownScore: Score, score: (Int, Int) -> Score?) -> [(start: Int, end: Int, id: Int)] {
        let size = bytes.count
        guard size > 0 else { return [] }
        var bestScore = [Score](repeating: 0, count: size + 1)
        var startsAt = [Int](repeating: -1, count: size + 1)
        var bestID = [Int](repeating: -1, count: size + 1)
        var start = 0
        while start < size {
            let here = bestScore[start]
            let charLength = min(oneCharLength(bytes[start]), size - start)
            var hasSingleNode = false
            trie.prefixes(bytes, from: start) { end, id in
                guard let s = score(id, end - start) else { return }
                let candidate = s + here
                if startsAt[end] == -1 || candidate > bestScore[end] {
                    bestScore[end] = candidate
                    startsAt[end] = start
                    bestID[end] = id
                }
                if end - start == charLength { hasSingleNode = true }
            }
            if !hasSingleNode {
                let end = start + charLength
                let candidate = unknownScore + here
                if startsAt[end] == -1 || candidate > bestScore[end] {
                    bestScore[end] = candidate
                    startsAt[end] = start
                    bestID[end] = unknownID
                }
            }
            start += charLength
        }
        var path: [(start: Int, end: Int, id: Int)] = []
        var end = size
        while end > 0 {
            path.append((startsAt[end], end, bestID[end]))
            end = startsAt[end]
        }
        return path.reversed()
    }

    /// Bytes of the UTF-8 character starting with `lead` (sentencepiece's `OneCharLen`).
    static func oneCharLength(_ lead: UInt8) -> Int {
        switch lead >> 4 {
        case 0xC, 0xD: return 2
        case 0xE: return 3
        case 0xF: return 4
        default: return 1
        }
    }
}
