/// SentencePiece's precompiled normalisation rules: a Darts-clone double-array trie over UTF-8 byte strings whose
/// values are offsets of NUL-terminated replacements.
///
/// Blob layout (`normalizer_spec.precompiled_charsmap`): a little-endian UInt32 giving the trie's size in bytes, the
/// trie's 32-bit units, then the replacement strings.
struct CharsMap: Sendable {
    private let units: [UInt32]
    private let replacements: [UInt8]

    init(_ blob: [UInt8], path: String) throws {
        guard blob.count >= 4 else { throw TokenizerError(path: path, "normalizer_spec.precompiled_charsmap is shorter than its 4-byte header") }
        let trieBytes = Int(UInt32(blob[0]) | UInt32(blob[1]) << 8 | UInt32(blob[2]) << 16 | UInt32(blob[3]) << 24)
        guard trieBytes % 4 == 0, trieBytes >= 4, trieBytes <= blob.count - 4 else {
            throw TokenizerError(path: path, "normalizer_spec.precompiled_charsmap: trie size \(trieBytes) does not fit the \(blob.count)-byte blob")
        }
        var units = [UInt32](repeating: 0, count: trieBytes / 4)
        for i in units.indices {
            let b = 4 + 4 * i
            units[i] = UInt32(blob[b]) | UInt32(blob[b + 1]) << 8 | UInt32(blob[b + 2]) << 16 | UInt32(blob[b + 3]) << 24
        }
        self.units = units
        replacements = Array(blob[(4 + trieBytes)...])
    }

    // Darts-clone unit fields.
    private static func hasLeaf(_ u: UInt32) -> Bool { (u >> 8) & 1 == 1 }
    private static func value(_ u: UInt32) -> Int { Int(u & ((1 << 31) - 1)) }
    private static func label(_ u: UInt32) -> UInt32 { u & ((1 << 31) | 0xFF) }
    private static func offset(_ u: UInt32) -> Int { Int((u >> 10) << ((u & (1 << 9)) >> 6)) }

    /// Every rule that is a prefix of `key[start..<end]`, shortest first, as (length in bytes, replacement offset):
    /// Darts' `commonPrefixSearch`. An out-of-range unit (a corrupt trie) ends the search.
    func prefixes(of key: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int, _ found: (Int, Int) -> Bool) {
        var node = 0
        guard !units.isEmpty else { return }
        node ^= CharsMap.offset(units[0])
        var i = start
        while i < end {
            let c = key[i]
            node ^= Int(c)
            guard node < units.count else { return }
            let unit = units[node]
            if CharsMap.label(unit) != UInt32(c) { return }
            node ^= CharsMap.offset(unit)
            guard node < units.count else { return }
            if CharsMap.hasLeaf(unit), !found(i + 1 - start, CharsMap.value(units[node])) { return }
            i += 1
        }
    }

    /// The replacement at `offset`: the bytes up to the next NUL.
    func replacement(at offset: Int) -> ArraySlice<UInt8> {
        guard offset < replacements.count else { return [] }
        var end = offset
        while end < replacements.count, replacements[end] != 0 { end += 1 }
        return replacements[offset..<end]
    }

    /// The longest rule matching at `start` (sentencepiece's normaliser): its length and replacement.
    func longestMatch(_ key: UnsafeBufferPointer<UInt8>, at start: Int) -> (length: Int, replacement: ArraySlice<UInt8>)? {
        var best: (Int, Int)?
        prefixes(of: key, from: start, to: key.count) { length, value in
            if best == nil || length > best!.0 { best = (length, value) }
            return true
        }
        return best.map { ($0.0, replacement(at: $0.1)) }
    }

    /// The replacement of the shortest rule that is a prefix of `chunk` (transformers' `Precompiled.transform`, which
    /// then replaces the whole chunk with it).
    func firstMatch(_ chunk: UnsafeBufferPointer<UInt8>) -> ArraySlice<UInt8>? {
        var first: Int?
        prefixes(of: chunk, from: 0, to: chunk.count) { _, value in first = value; return false }
        return first.map { replacement(at: $0) }
    }
}
