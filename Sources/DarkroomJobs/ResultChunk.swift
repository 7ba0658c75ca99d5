import DarkroomImaging
import DarkroomJobModel
import DarkroomSupport
import Foundation

/// The `darkroom` text chunk of a result PNG: the job's resolved request, its model and where its inputs are, enough
/// to run the job again from the PNG alone (`darkroom run RESULT.png`).
///
/// The JSON is the `EditRequest`'s keys (so it decodes as one) plus `model`, `image` and `mask`; the input paths are
/// relative to the result's folder (`inputs/cat.png`), which is how a job folder keeps them. Keys are sorted and every
/// character beyond ASCII is written as a `\u` escape, so a tEXt chunk (Latin-1) carries any prompt exactly and the
/// same job always writes the same bytes.
public struct ResultChunk: Codable, Equatable {
    /// The tEXt keyword.
    public static let keyword = "darkroom"

    public var request: EditRequest
    /// The model's name in config.json; nil in results written before it was recorded (read from `parameters`).
    public var model: String?
    public var image: String?
    public var mask: String?
    /// Read from a result written before the chunk recorded its model (and kept prompts beyond Latin-1 exactly).
    public private(set) var isLegacy = false

    public init(request: EditRequest, model: String?, image: String?, mask: String?) {
        self.request = request
        self.model = model
        self.image = image
        self.mask = mask
    }

    enum CodingKeys: String, CodingKey { case model, image, mask }

    public init(from decoder: Decoder) throws {
        request = try EditRequest(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decodeIfPresent(String.self, forKey: .model)
        image = try c.decodeIfPresent(String.self, forKey: .image)
        mask = try c.decodeIfPresent(String.self, forKey: .mask)
    }

    public func encode(to encoder: Encoder) throws {
        try request.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(model, forKey: .model)
        try c.encodeIfPresent(image, forKey: .image)
        try c.encodeIfPresent(mask, forKey: .mask)
    }

    /// The chunk's text: sorted-key JSON, ASCII only.
    public func text() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var out = ""
        for scalar in String(decoding: try encoder.encode(self), as: UTF8.self).unicodeScalars {
            if scalar.isASCII { out.unicodeScalars.append(scalar); continue }
            for unit in String(scalar).utf16 { out += String(format: "\\u%04x", unit) }
        }
        return out
    }

    /// Reads the chunk of the result PNG at `path`; the errors say what the file is instead.
    public static func read(pngAt path: String) throws -> ResultChunk {
        guard let data = FileManager.default.contents(atPath: path) else { throw JobError(field: nil, "\(path): cannot read") }
        guard ImageDecoder.format(of: data) == .png else { throw JobError(field: nil, "\(path): not a PNG file") }
        let text = PNGWriter.textChunks(of: data)
        guard let json = text[keyword] else {
            throw JobError(field: nil, "\(path) has no '\(keyword)' chunk: it is not a Darkroom result, or a program that drops PNG text chunks saved it again; run its sidecar instead")
        }
        var chunk: ResultChunk
        do { chunk = try JSONDecoder().decode(ResultChunk.self, from: Data(json.utf8)) } catch {
            throw JobError(field: nil, "\(path): its '\(keyword)' chunk does not decode as a job (\(error)); written by another Darkroom version?")
        }
        if chunk.model == nil, let parameters = text["parameters"] {
            chunk.isLegacy = true
            // Older results: the model is only in the settings line, the last ("…, Model: fashion, Mode: sdedit"); the
            // prompt above it may say anything.
            let settings = parameters.split(separator: "\n", omittingEmptySubsequences: false).last.map(String.init) ?? ""
            chunk.model = settings.components(separatedBy: ", ").first { $0.hasPrefix("Model: ") }.map { String($0.dropFirst(7)) }
        }
        return chunk
    }
}
