import Foundation

/// A SentencePiece `.model` file as its `ModelProto` protobuf holds it: the pieces with their scores and types, the
/// trainer's special ids and byte fallback, and the normaliser's rules.
public struct SentencePieceModel: Sendable {
    /// What a piece is (`ModelProto.SentencePiece.Type`).
    public enum PieceType: Int, Sendable {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    public struct Piece: Sendable {
        public let text: String
        public let score: Float
        public let type: PieceType
    }

    /// The `normalizer_spec`.
    public struct NormalizerSpec: Sendable {
        public var name = ""
        /// The compiled rewrite rules: a 4-byte trie size, a Darts double-array trie, the replacement strings.
        public var precompiledCharsmap: [UInt8] = []
        public var addDummyPrefix = true
        public var removeExtraWhitespaces = true
        public var escapeWhitespaces = true
    }

    public let path: String
    public let pieces: [Piece]
    public let normalizer: NormalizerSpec
    public let byteFallback: Bool
    public let unknownID: Int
    /// The normaliser's rules parsed (nil when the model has none, as identity models do).
    let charsMap: CharsMap?

    /// Reads and checks the model at `path`.
    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TokenizerError(path: path, FileManager.default.fileExists(atPath: path) ? "cannot read the SentencePiece model" : "no SentencePiece model here")
        }
        try self.init(bytes: [UInt8](data), path: path)
    }

    public init(bytes: [UInt8], path: String) throws {
        self.path = path
        var pieces: [Piece] = []
        var normalizer = NormalizerSpec()
        var modelType = 1, byteFallback = false, suffix = false, unknownID = 0
        do {
            var reader = ProtobufReader(bytes)
            while !reader.isAtEnd {
                let (number, type) = try reader.nextField()
                switch (number, type) {
                case (1, .lengthDelimited): pieces.append(try SentencePieceModel.piece(try reader.message()))
                case (2, .lengthDelimited):
                    var trainer = try reader.message()
                    while !trainer.isAtEnd {
                        let (n, t) = try trainer.nextField()
                        switch (n, t) {
                        case (3, .varint): modelType = try trainer.smallInt()
                        case (24, .varint): suffix = try trainer.bool()
                        case (35, .varint): byteFallback = try trainer.bool()
                        case (40, .varint): unknownID = try trainer.int32()
                        default: try trainer.skip(t)
                        }
                    }
                case (3, .lengthDelimited):
                    var spec = try reader.message()
                    while !spec.isAtEnd {
                        let (n, t) = try spec.nextField()
                        switch (n, t) {
                        case (1, .lengthDelimited): normalizer.name = try spec.string()
                        case (2, .lengthDelimited): normalizer.precompiledCharsmap = Array(try spec.lengthDelimited())
                        case (3, .varint): normalizer.addDummyPrefix = try spec.bool()
                        case (4, .varint): normalizer.removeExtraWhitespaces = try spec.bool()
                        case (5, .varint): normalizer.escapeWhitespaces = try spec.bool()
                        default: try spec.skip(t)
                        }
                    }
                default: try reader.skip(type)
                }
            }
        } catch let error as ProtobufReader.Malformed {
            throw TokenizerError(path: path, "not a SentencePiece model (corrupt or truncated protobuf: \(error.reason))")
        }
        guard !pieces.isEmpty else { throw TokenizerError(path: path, "not a SentencePiece model: it holds no pieces") }
        guard modelType == 1 else {
            throw TokenizerError(path: path, "trainer_spec.model_type is \(modelType); Darkroom implements unigram models (1), as T5 uses")
        }
        guard unknownID >= 0, unknownID < pieces.count, pieces[unknownID].type == .unknown else {
            throw TokenizerError(path: path, "trainer_spec.unk_id \(unknownID) is not an UNKNOWN piece")
        }
        if pieces.contains(where: { $0.type == .byte }), !byteFallback {
            throw TokenizerError(path: path, "the model has byte pieces but trainer_spec.byte_fallback is off")
        }
        if suffix { throw TokenizerError(path: path, "trainer_spec.treat_whitespace_as_suffix is not implemented") }
        charsMap = normalizer.precompiledCharsmap.isEmpty ? nil : try CharsMap(normalizer.precompiledCharsmap, path: path)
        self.pieces = pieces
        self.normalizer = normalizer
        self.byteFallback = byteFallback
        self.unknownID = unknownID
    }

    private static func piece(_ message: ProtobufReader) throws -> Piece {
        var reader = message
        var text: String?, score: Float = 0, type = PieceType.normal
        while !reader.isAtEnd {
            let (n, t) = try reader.nextField()
            switch (n, t) {
            case (1, .lengthDelimited): text = try reader.string()
            case (2, .fixed32): score = try reader.float()
            case (3, .varint):
                let raw = try reader.smallInt()
                guard let known = PieceType(rawValue: raw) else { throw ProtobufReader.Malformed(reason: "piece type \(raw)") }
                type = known
            default: try reader.skip(t)
            }
        }
        guard let text, !text.isEmpty else { throw ProtobufReader.Malformed(reason: "a piece without text") }
        return Piece(text: text, score: score, type: type)
    }
}
