import Foundation

/// `config.json`: where things live and which models exist. Relative paths are relative to the config file.
public struct DarkroomConfig: Equatable {
    public var inbox: String
    public var gallery: String
    public var database: String
    /// Folder of the gallery's Mustache templates and stylesheet (nil: the built-in ones).
    public var templates: String?
    /// Model name → checkpoint folder.
    public var models: [String: String]
    public var defaultModel: String
    /// Defaults for jobs that leave a field out.
    public var guidance: Double?
    public var stride: Int?
    public var seed: UInt64?
    public var threads: Int?
    /// Seconds a sidecar waits for its image before it is rejected.
    public var imageWaitSeconds: Double = 30
    /// Crashes of the worker a job may cause before it is marked failed.
    public var maxAttempts: Int = 3
    /// The file this was read from.
    public var path: String

    static let keys: Set<String> = ["inbox", "gallery", "database", "templates", "models", "default_model", "defaults", "threads",
                                    "image_wait_seconds", "max_attempts"]

    /// Reads and validates `path`; every problem names the key.
    public static func load(path: String) throws -> DarkroomConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw JobError(field: nil, "\(path): cannot read the config file")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw JobError(field: nil, "\(path): not a JSON object")
        }
        if let unknown = object.keys.sorted().first(where: { !keys.contains($0) }) {
            throw JobError(field: unknown, "\(path): unknown key (known: \(keys.sorted().joined(separator: ", ")))")
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        func resolve(_ p: String) -> String { p.hasPrefix("/") ? p : base.appendingPathComponent(p).standardized.path }
        let f = FieldReader(object)
        guard let rawModels = object["models"] as? [String: String], !rawModels.isEmpty else {
            throw JobError(field: "models", "\(path): must map model names to checkpoint folders")
        }
        let defaultModel = try f.string("default_model") ?? rawModels.keys.sorted()[0]
        guard rawModels[defaultModel] != nil else {
            throw JobError(field: "default_model", "\(path): '\(defaultModel)' is not among the models (\(rawModels.keys.sorted().joined(separator: ", ")))")
        }
        var config = DarkroomConfig(
            inbox: resolve(try f.string("inbox") ?? "inbox"), gallery: resolve(try f.string("gallery") ?? "gallery"),
            database: resolve(try f.string("database") ?? "darkroom.sqlite"), templates: try f.string("templates").map(resolve),
            models: rawModels.mapValues(resolve),
            defaultModel: defaultModel, path: path)
        if let d = object["defaults"] {
            guard let defaults = d as? [String: Any] else { throw JobError(field: "defaults", "\(path): must be an object") }
            let allowed: Set<String> = ["guidance", "stride", "seed"]
            if let unknown = defaults.keys.sorted().first(where: { !allowed.contains($0) }) {
                throw JobError(field: "defaults.\(unknown)", "\(path): unknown key (known: guidance, stride, seed)")
            }
            let g = FieldReader(defaults)
            config.guidance = try g.double("guidance", in: 0...100)
            config.stride = try g.int("stride", in: 1...10_000)
            config.seed = try g.int("seed", in: 0...Int.max).map(UInt64.init)
        }
        config.threads = try f.int("threads", in: 1...1024)
        config.imageWaitSeconds = try f.double("image_wait_seconds", in: 0...86_400) ?? 30
        config.maxAttempts = try f.int("max_attempts", in: 1...100) ?? 3
        return config
    }

    public init(inbox: String, gallery: String, database: String, templates: String?, models: [String: String], defaultModel: String, path: String) {
        self.inbox = inbox
        self.gallery = gallery
        self.database = database
        self.templates = templates
        self.models = models
        self.defaultModel = defaultModel
        self.path = path
    }

    /// The checkpoint folder for a sidecar's `model` field (nil: the default model).
    public func modelPath(_ name: String?) throws -> (name: String, path: String) {
        let key = name ?? defaultModel
        guard let path = models[key] else {
            throw JobError(field: "model", "unknown model '\(key)' (known: \(models.keys.sorted().joined(separator: ", ")))")
        }
        return (key, path)
    }
}
