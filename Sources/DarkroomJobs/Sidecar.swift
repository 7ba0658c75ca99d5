import Foundation
import DarkroomDiffusion
import DarkroomJobModel
import DarkroomSupport

/// A job's sidecar JSON, validated field by field. Field names are a contract: see the README.
public struct Sidecar: Equatable {
    public var mode: EditMode?
    public var image: String?
    public var mask: String?
    public var prompt: String?
    public var prompts: [String]?
    public var noiseLevels: [Int]?
    public var strength: Double?
    public var t: [Int]?
    /// Noise levels σ of `denoise` on a single-step denoiser model.
    public var sigma: [Double]?
    public var guidance: Double?
    public var stride: Int?
    public var steps: Int?
    public var seed: UInt64?
    public var count: Int?
    public var view: ImageView?
    public var weight: Double?
    public var model: String?
    public var frameEvery: Int?
    /// Queue order: higher runs first, then oldest first (default 0).
    public var priority: Int?
    /// Upscale the results with the model's stage II (default: the model entry's `upscale`, else false).
    public var upscale: Bool?
    public var upscaleSteps: Int?
    public var upscaleGuidance: Double?
    /// The noise level of the upscaled stage I image, 0…999.
    public var upscaleNoise: Int?
    /// Which of `noise_level` and `noise_levels` gave `noiseLevels` (for errors).
    public var noiseLevelsField = "noise_levels"

    /// Every accepted field.
    public static let fields: Set<String> = [
        "mode", "image", "mask", "prompt", "prompts", "noise_level", "noise_levels", "strength", "t", "sigma", "guidance",
        "stride", "steps", "seed", "count", "view", "weight", "model", "frame_every", "priority",
        "upscale", "upscale_steps", "upscale_guidance", "upscale_noise",
    ]

    /// The fields that tune an upscale.
    public static let upscaleFields = ["upscale_steps", "upscale_guidance", "upscale_noise"]

    /// Parses and validates sidecar JSON; errors name the field.
    public init(json data: Data) throws {
        guard data.count <= SidecarLimits.sidecarBytes else {
            throw JobError(field: nil, "the sidecar is \(data.count) bytes; the limit is \(SidecarLimits.sidecarBytes)")
        }
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: data) } catch {
            if let field = UnrepresentableNumber.field(in: data) {
                throw JobError(field: field, "the number is beyond what a double can hold")
            }
            throw JobError(field: nil, "the sidecar is not valid JSON (write one object, e.g. {\"mode\": \"generate\"})")
        }
        guard let object = parsed as? [String: Any] else {
            throw JobError(field: nil, "the sidecar is not a JSON object (write one object, e.g. {\"mode\": \"generate\"})")
        }
        try self.init(object: object)
    }

    /// Validates the fields of a parsed sidecar. `preset`: the fields of a preset of config.json, which leaves out
    /// what its drops bring (the image and mask files, an anagram's or hybrid's prompts from a prompt file).
    public init(object: [String: Any], preset: Bool = false) throws {
        try FieldReader.checkKeys(object, known: Sidecar.fields, noun: "field")
        let f = FieldReader(object)
        if let m = try f.string("mode") {
            guard let mode = EditMode(rawValue: m) else {
                throw JobError(field: "mode", "unknown mode '\(JobError.quote(m))' (known: \(EditMode.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            self.mode = mode
        }
        image = try f.relativePath("image")
        mask = try f.relativePath("mask")
        prompt = try f.string("prompt")
        prompts = try f.strings("prompts")
        if let p = prompts, p.count != 2 { throw JobError(field: "prompts", "needs exactly two prompts, got \(p.count)") }
        for (field, text) in [("prompt", prompt)] + (prompts ?? []).map({ ("prompts", Optional($0)) }) {
            if let text, text.count > SidecarLimits.promptCharacters {
                throw JobError(field: field, "is \(text.count) characters; the limit is \(SidecarLimits.promptCharacters) ('\(JobError.quote(text, limit: 40))')")
            }
        }
        let level = try f.int("noise_level", in: 0...10_000)
        let levels = try f.ints("noise_levels", in: 0...10_000, maxCount: SidecarLimits.listEntries)
        strength = try f.double("strength", in: 0...1)
        if strength == 0 { throw JobError(field: "strength", "must be greater than 0") }
        let given = [level != nil ? "noise_level" : nil, levels != nil ? "noise_levels" : nil, strength != nil ? "strength" : nil].compactMap { $0 }
        if given.count > 1 { throw JobError(field: given[1], "give only one of noise_level, noise_levels and strength") }
        noiseLevels = levels ?? level.map { [$0] }
        if level != nil { noiseLevelsField = "noise_level" }
        t = try f.ints("t", in: 1...100_000, allowScalar: true, maxCount: SidecarLimits.listEntries)
        sigma = try f.doubles("sigma", in: 0...10, maxCount: SidecarLimits.listEntries)
        guidance = try f.double("guidance", in: 0...100)
        stride = try f.int("stride", in: 1...10_000)
        steps = try f.int("steps", in: 1...10_000)
        if stride != nil, steps != nil { throw JobError(field: "steps", "give stride or steps, not both") }
        if let s = try f.int("seed", in: 0...Int.max) { seed = UInt64(s) }
        count = try f.int("count", in: 1...64)
        if let v = try f.string("view") {
            guard let view = ImageView(rawValue: v), view != .identity else {
                throw JobError(field: "view", "unknown view '\(JobError.quote(v))' (known: flip, rotate90, rotate180, rotate270, negate)")
            }
            self.view = view
        }
        weight = try f.double("weight", in: 0...1)
        model = try f.string("model")
        frameEvery = try f.int("frame_every", in: 1...10_000)
        priority = try f.int("priority", in: -1_000...1_000)
        upscale = try f.bool("upscale")
        upscaleSteps = try f.int("upscale_steps", in: 1...1_000)
        upscaleGuidance = try f.double("upscale_guidance", in: 0...100)
        upscaleNoise = try f.int("upscale_noise", in: 0...999)
        try checkModeFields(preset: preset)
    }

    /// The image a job of this sidecar uses: the one it names, or `NAME.png` beside `NAME.json` for the modes that
    /// start from an image (`NAME.jpg` or `NAME.jpeg` when `exists` says the PNG is not there and they are); nil for
    /// the modes that start from noise.
    public func imagePath(sidecarName: String, exists: (String) -> Bool = { _ in false }) -> String? {
        if let image { return image }
        guard takesImage else { return nil }
        let candidates = FolderLayout.impliedImages(sidecarName: sidecarName)
        return candidates.first(where: exists) ?? candidates[0]
    }

    /// Whether the mode starts from an image.
    public var takesImage: Bool { resolvedMode.takesImage }

    /// Whether the mode takes a mask beside its image.
    public var takesMask: Bool { resolvedMode.takesMask }

    /// Whether the mode takes two prompts (`prompts`) rather than one.
    public var takesTwoPrompts: Bool { resolvedMode.takesTwoPrompts }

    /// Validates one input path as the `image` and `mask` fields are (used for drops whose sidecar is otherwise bad).
    public static func inputPath(_ raw: String, field: String) throws -> String {
        try FieldReader([field: raw]).relativePath(field)!
    }

    /// The upscale-tuning fields this sidecar gives, by name.
    var givenUpscaleFields: [String] {
        zip(Sidecar.upscaleFields, [upscaleSteps != nil, upscaleGuidance != nil, upscaleNoise != nil]).filter(\.1).map(\.0)
    }

    /// The mode: as given, or `generate` (validation refuses a missing mode when an image is given).
    public var resolvedMode: EditMode { mode ?? .generate }

    private func checkModeFields(preset: Bool) throws {
        if mode == nil, image != nil { throw JobError(field: "mode", "is required when an image is given") }
        let m = resolvedMode
        switch m {
        case .generate, .anagram, .hybrid:
            if image != nil { throw JobError(field: "image", "mode '\(m.rawValue)' starts from noise and takes no image") }
        case .noise, .denoise, .sdedit, .inpaint:
            break
        }
        if m == .inpaint, mask == nil, !preset { throw JobError(field: "mask", "mode 'inpaint' needs a mask") }
        if m != .inpaint, mask != nil { throw JobError(field: "mask", "only mode 'inpaint' takes a mask") }
        if [.anagram, .hybrid].contains(m), prompts == nil, !preset { throw JobError(field: "prompts", "mode '\(m.rawValue)' needs two prompts") }
        if ![.anagram, .hybrid].contains(m), prompts != nil { throw JobError(field: "prompts", "only anagram and hybrid take two prompts; use prompt") }
        if [.noise, .denoise].contains(m) == false, t != nil { throw JobError(field: "t", "only noise and denoise take t") }
        if m != .denoise, sigma != nil { throw JobError(field: "sigma", "only denoise takes sigma (on a single-step denoiser model)") }
        if m != .sdedit, noiseLevels != nil || strength != nil {
            throw JobError(field: noiseLevels != nil ? "noise_levels" : "strength", "only sdedit takes a noise level or strength")
        }
        if m != .anagram, view != nil { throw JobError(field: "view", "only anagram takes a view") }
        if ![.anagram].contains(m), weight != nil { throw JobError(field: "weight", "only anagram takes a weight") }
        if m == .noise, upscale == true { throw JobError(field: "upscale", "mode 'noise' makes no image to upscale") }
        if upscale == false, let given = givenUpscaleFields.first {
            throw JobError(field: given, "is given but \"upscale\" is false")
        }
    }
}

extension FieldReader {
    /// A path relative to the sidecar's folder that stays inside it and names a file Darkroom may take: no NUL,
    /// no `..`, not absolute, not empty, not one of the inbox's own folders, not a dotfile, partial copy or sidecar.
    func relativePath(_ key: String) throws -> String? {
        guard let p = try string(key) else { return nil }
        if p.isEmpty { throw JobError(field: key, "must not be empty") }
        if p.contains("\u{0}") { throw JobError(field: key, "must not contain a NUL character") }
        if p.hasPrefix("/") || p.hasPrefix("~") { throw JobError(field: key, "must be relative to the sidecar's folder, not absolute") }
        let parts = p.split(separator: "/", omittingEmptySubsequences: false).map(String.init).filter { $0 != "." }
        if parts.contains("..") { throw JobError(field: key, "must not leave the sidecar's folder ('..')") }
        guard let name = parts.last, !parts.contains("") else {
            throw JobError(field: key, "must name a file beside the sidecar, got '\(JobError.quote(p))'")
        }
        if let first = parts.first, FolderLayout.reservedInboxNames.contains(first) {
            throw JobError(field: key, "'\(first)' is Darkroom's own folder in the inbox, not an input")
        }
        if let long = parts.first(where: { $0.utf8.count > SidecarLimits.nameBytes }) {
            throw JobError(field: key, "the name '\(JobError.quote(long))' is longer than \(SidecarLimits.nameBytes) bytes")
        }
        if FolderLayout.isIgnored(name) || parts.contains(where: { $0.hasPrefix(".") }) {
            throw JobError(field: key, "'\(JobError.quote(name))' is a dotfile or a partial copy (.tmp, .part), which Darkroom never takes")
        }
        if name.lowercased().hasSuffix(".json") {
            throw JobError(field: key, "'\(JobError.quote(name))' is a sidecar name (.json); name the image file")
        }
        return parts.joined(separator: "/")
    }
}
