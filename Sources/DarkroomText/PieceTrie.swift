/// The pieces of a vocabulary in a byte trie, for finding every piece that starts at a position of a string.
struct PieceTrie: Sendable {
    /// Child node of (node, byte), keyed `node << 8 | byte`.
    private var children: [Int: Int32] = [:]
    /// The piece id ending at each node, or −1.
    private var ids: [Int32] = [-1]

    init<S: Sequence>(_ entries: S) where S.Element == (text: String, id: Int) {
        for (text, id) in entries {
            var node = 0
            for byte in text.utf8 {
                let key = node << 8 | Int(byte)
                if let next = children[key] {
                    node = Int(next)
                } else {
                    ids.append(-1)
                    children[key] = Int32(ids.count - 1)
                    node = ids.count - 1
                }
            }
            if ids[node] < 0 { ids[node] = Int32(id) }   // the first piece with a text keeps it, as a map insert does
        }
    }

    /// Calls `found(end, id)` for each piece that is a prefix of `bytes[start...]`, shortest first.
    func prefixes(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, _ found: (Int, Int) -> Void) {
        var node = 0
        var i = start
        while i < bytes.count, let next = children[node << 8 | Int(bytes[i])] {
            node = Int(next)
            i += 1
            if ids[node] >= 0 { found(i, Int(ids[node])) }
        }
    }
}
