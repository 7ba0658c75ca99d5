import Foundation

/// The `config.json` of a small-UNet checkpoint (`../shared/spec/tiny-unet.md`); unknown keys are an error.
public struct TinyUNetConfig: Codable, Equatable, Sendable {
    /// Always "cs180-unet".
    public var architecture: String = "cs180-unet"
    /// Image channels C (1 or 3).
    public var channels: Int
    /// Hidden width D.
    public var hidden: Int
    /// Class names; their count is K (empty: a time-only model).
    public var classes: [String] = []
    /// "ddpm" (ε-prediction), "flow" (flow matching), "denoise" (single-step denoiser of x + σε) or "pure-noise" (the
    /// course's denoiser of noise alone).
    public var objective: String = "ddpm"
    public var timesteps: Int = 300
    public var betaStart: Double = 1e-4
    public var betaEnd: Double = 0.02
    public var imageSize: Int = 28
    public var pixelRange: [Double] = [0, 1]
    /// The noise strided steps add: "beta", "posterior" or "beta_at_unit_stride" (`VarianceKind`; the default: the
    /// course's β at stride 1, the posterior's β̃ when steps skip timesteps).
    public var variance: String = "beta_at_unit_stride"
    /// The classifier-free guidance scale a job uses when neither its sidecar nor the config sets one (5 when absent).
    public var defaultGuidance: Double?
    /// A single-step denoiser's training noise σ: the level its `denoise` jobs use unless the sidecar sets `sigma`.
    public var sigma: Double?

    /// The objectives a small UNet can be trained with.
    public static let objectives = ["ddpm", "flow", "denoise", "pure-noise"]

    /// Whether the network maps a noisy image to the clean one in one pass (no sampler): "denoise" and "pure-noise".
    public var predictsCleanImage: Bool { objective == "denoise" || objective == "pure-noise" }

    /// The variances a small UNet's sampler can use.
    public static let variances = ["beta", "posterior", "beta_at_unit_stride"]

    enum CodingKeys: String, CodingKey, CaseIterable {
        case architecture, channels, hidden, classes, objective, timesteps
        case betaStart = "beta_start", betaEnd = "beta_end", imageSize = "image_size", pixelRange = "pixel_range"
        case variance, defaultGuidance = "default_guidance", sigma
    }

    public init(channels: Int, hidden: Int, classes: [String] = [], objective: String = "ddpm") {
        self.channels = channels
        self.hidden = hidden
        self.classes = classes
        self.objective = objective
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        architecture = try c.decode(String.self, forKey: .architecture)
        channels = try c.decode(Int.self, forKey: .channels)
        hidden = try c.decode(Int.self, forKey: .hidden)
        classes = try c.decodeIfPresent([String].self, forKey: .classes) ?? []
        objective = try c.decodeIfPresent(String.self, forKey: .objective) ?? "ddpm"
        timesteps = try c.decodeIfPresent(Int.self, forKey: .timesteps) ?? 300
        betaStart = try c.decodeIfPresent(Double.self, forKey: .betaStart) ?? 1e-4
        betaEnd = try c.decodeIfPresent(Double.self, forKey: .betaEnd) ?? 0.02
        imageSize = try c.decodeIfPresent(Int.self, forKey: .imageSize) ?? 28
        pixelRange = try c.decodeIfPresent([Double].self, forKey: .pixelRange) ?? [0, 1]
        variance = try c.decodeIfPresent(String.self, forKey: .variance) ?? "beta_at_unit_stride"
        defaultGuidance = try c.decodeIfPresent(Double.self, forKey: .defaultGuidance)
        sigma = try c.decodeIfPresent(Double.self, forKey: .sigma)
    }

    /// Number of classes K.
    public var classCount: Int { classes.count }

    /// Reads and validates `config.json` at `path`.
    public static func load(path: String) throws -> TinyUNetConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelError.badConfig(path: path, key: nil, reason: "cannot read the file")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelError.badConfig(path: path, key: nil, reason: "not a JSON object")
        }
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw ModelError.badConfig(path: path, key: unknown, reason: "unknown key (known: \(known.sorted().joined(separator: ", ")))")
        }
        let config: TinyUNetConfig
        do {
            config = try JSONDecoder().decode(TinyUNetConfig.self, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw ModelError.badConfig(path: path, key: key.stringValue, reason: "required key is missing")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw ModelError.badConfig(path: path, key: context.codingPath.first?.stringValue, reason: "wrong type: \(context.debugDescription)")
        }
        try config.validate(path: path)
        return config
    }

    /// Checks the values the network can run with.
    public func validate(path: String) throws {
        if architecture != "cs180-unet" {
            throw ModelError.badConfig(path: path, key: "architecture", reason: "expected \"cs180-unet\", found \"\(architecture)\"")
        }
        if channels < 1 { throw ModelError.badConfig(path: path, key: "channels", reason: "must be at least 1") }
        if hidden < 1 { throw ModelError.badConfig(path: path, key: "hidden", reason: "must be at least 1") }
        if imageSize != 28 {
            throw ModelError.badConfig(path: path, key: "image_size", reason: "the network's 7×7 bottleneck needs 28, found \(imageSize)")
        }
        if !Self.objectives.contains(objective) {
            throw ModelError.badConfig(path: path, key: "objective", reason: "expected \(Self.objectives.joined(separator: ", ")), found \"\(objective)\"")
        }
        if let s = sigma, !(s >= 0 && s <= 10) {
            throw ModelError.badConfig(path: path, key: "sigma", reason: "must be between 0 and 10, found \(s)")
        }
        if timesteps < 1 { throw ModelError.badConfig(path: path, key: "timesteps", reason: "must be at least 1") }
        if pixelRange.count != 2 || pixelRange[0] >= pixelRange[1] {
            throw ModelError.badConfig(path: path, key: "pixel_range", reason: "must be [low, high] with low < high")
        }
        if !Self.variances.contains(variance) {
            throw ModelError.badConfig(path: path, key: "variance", reason: "expected \(Self.variances.joined(separator: ", ")), found \"\(variance)\"")
        }
        if let g = defaultGuidance, !(0...100).contains(g) {
            throw ModelError.badConfig(path: path, key: "default_guidance", reason: "must be between 0 and 100, found \(g)")
        }
    }
}
