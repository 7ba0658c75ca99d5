import Foundation
import DarkroomJobModel
import DarkroomSupport

/// `config.json`: where things live and which models exist. Relative paths are relative to the config file.
public struct DarkroomConfig: Equatable {
    public var inbox: String
    public var gallery: String
    public var database: String
    /// Folder of the gallery's Mustache templates and stylesheet (nil: the built-in ones).
    public var templates: String?
    /// Model name → checkpoint folder.
    public var models: [String: String]
    /// Model name → what a model entry given as an object adds to its folder.
    public var modelOptions: [String: ModelOptions] = [:]
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
    /// How long a worker's claim on a job holds without renewal; past it any process queues the job again.
    public var leaseSeconds: Double = 30
    /// How often a running worker renews its lease (default: a third of the lease, at most 10 s).
    public var leaseRenewSeconds: Double = 10
    /// How often idle workers and the gallery host look at the database when no notification woke them.
    public var pollSeconds: Double = 5
    /// A running job that makes no progress (no sampler step, no encoded block, no file) for this long is stalled: its
    /// process stops feeding systemd's watchdog and renewing the lease, so that the next process ends it.
    public var jobStallSeconds: Double = 600
    /// A job that runs longer than this is stopped at its next step and fails (nil: no limit on a job's time).
    public var jobTimeoutSeconds: Double?
    /// Preset name → its folder's fields (`inbox/<name>/`).
    public var presets: [String: Preset] = [:]
    /// What intake never takes: the defaults and config.json's `"ignore"` patterns.
    public var ignore = IgnoreRules(patterns: [])
    /// Where notices of ended jobs go (`"notify"`; none by default).
    public var notify: [NotifyTarget] = []
    /// Where the gallery is served (`"gallery_url"`), so that notices carry links; nil: they carry paths only.
    public var galleryURL: URL?
    /// What the daemon and `darkroom prune` remove (`"retention"`; absent: nothing).
    public var retention = RetentionPolicy()
    /// The file this was read from.
    public var path: String

    static let keys: Set<String> = ["inbox", "gallery", "database", "templates", "models", "default_model", "defaults", "threads",
                                    "image_wait_seconds", "max_attempts",
                                    "lease_seconds", "lease_renew_seconds", "poll_seconds", "job_stall_seconds", "job_timeout_seconds",
                                    "presets", "ignore", "notify", "gallery_url", "retention"]

    /// Reads and validates `path`; every problem names the key. A worker-only host has no inbox or gallery:
    /// `checkFolders` false skips their checks.
    public static func load(path: String, checkFolders: Bool = true) throws -> DarkroomConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw JobError(field: nil, "\(path): cannot read the config file")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw JobError(field: nil, "\(path): not a JSON object")
        }
        try FieldReader.checkKeys(object, known: keys, in: path)
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        func resolve(_ p: String) -> String { p.hasPrefix("/") ? p : base.appendingPathComponent(p).standardized.path }
        let f = FieldReader(object)
        guard let modelObject = object["models"] as? [String: Any], !modelObject.isEmpty else {
            throw JobError(field: "models", "\(path): must map model names to checkpoint folders")
        }
        var rawModels: [String: String] = [:]
        var options: [String: ModelOptions] = [:]
        for (name, value) in modelObject {
            if let folder = value as? String {
                rawModels[name] = folder
            } else if let entry = value as? [String: Any] {
                let (folder, o) = try ModelOptions.read(entry, field: "models.\(name)", path: path)
                rawModels[name] = folder
                var resolved = o
                resolved.promptEmbeddings = o.promptEmbeddings.map(resolve)
                resolved.textEncoder = o.textEncoder.map(resolve)
                resolved.tokenizer = o.tokenizer.map(resolve)
                resolved.upscaler = o.upscaler.map(resolve)
                options[name] = resolved
            } else {
                throw JobError(field: "models.\(name)", "\(path): must be a checkpoint folder or an object with \"path\"")
            }
        }
        let defaultModel = try f.string("default_model") ?? rawModels.keys.sorted()[0]
        guard rawModels[defaultModel] != nil else {
            throw JobError(field: "default_model", "\(path): '\(defaultModel)' is not among the models (\(rawModels.keys.sorted().joined(separator: ", ")))")
        }
        var config = DarkroomConfig(
            inbox: resolve(try f.string("inbox") ?? "inbox"), gallery: resolve(try f.string("gallery") ?? "gallery"),
            database: try f.string("database").map { DarkroomConfig.isDatabaseURL($0) ? $0 : resolve($0) } ?? resolve("darkroom.sqlite"), templates: try f.string("templates").map(resolve),
            models: rawModels.mapValues(resolve),
            defaultModel: defaultModel, path: path)
        config.modelOptions = options
        if let d = object["defaults"] {
            let defaults = try SamplingDefaults.read(d, field: "defaults", path: path, allowSeed: true)
            config.guidance = defaults.guidance
            config.stride = defaults.stride
            config.seed = defaults.seed
        }
        config.threads = try f.int("threads", in: 1...1024)
        config.imageWaitSeconds = try f.double("image_wait_seconds", in: 0...86_400) ?? 30
        config.maxAttempts = try f.int("max_attempts", in: 1...100) ?? 3
        config.leaseSeconds = try f.double("lease_seconds", in: 1...86_400) ?? 30
        config.leaseRenewSeconds = try f.double("lease_renew_seconds", in: 0.1...3600) ?? min(10, config.leaseSeconds / 3)
        if config.leaseRenewSeconds >= config.leaseSeconds {
            throw JobError(field: "lease_renew_seconds", "\(path): \(config.leaseRenewSeconds) must be shorter than lease_seconds (\(config.leaseSeconds)), or every lease expires before it is renewed")
        }
        config.pollSeconds = try f.double("poll_seconds", in: 0.05...3600) ?? 5
        config.jobStallSeconds = try f.double("job_stall_seconds", in: 1...86_400 * 7) ?? 600
        config.jobTimeoutSeconds = try f.double("job_timeout_seconds", in: 1...86_400 * 365)
        if let raw = object["presets"] {
            guard let presets = raw as? [String: Any] else {
                throw JobError(field: "presets", "\(path): must map preset names to sidecar fields, e.g. {\"ladder\": {\"mode\": \"sdedit\"}}")
            }
            for (name, value) in presets { config.presets[name] = try Preset.read(name, value, models: rawModels, path: path) }
        }
        if let raw = object["ignore"] {
            guard let list = raw as? [String], list.count <= 1_000 else {
                throw JobError(field: "ignore", "\(path): must be a list of at most 1000 file-name patterns, e.g. [\"*.bak\", \"scan-*\"]")
            }
            do { config.ignore = IgnoreRules(patterns: try list.map(GlobPattern.init)) } catch {
                throw JobError(field: "ignore", "\(path): \(error)")
            }
        }
        if let raw = object["retention"] { config.retention = try RetentionPolicy.read(raw, path: path) }
        if let raw = object["notify"] { config.notify = try NotifyTarget.readList(raw, path: path, base: base) }
        if let raw = try f.string("gallery_url") {
            guard let url = URL(string: raw.hasSuffix("/") ? raw : raw + "/"), ["http", "https", "file"].contains(url.scheme?.lowercased() ?? ""),
                  url.scheme == "file" || !(url.host ?? "").isEmpty else {
                throw JobError(field: "gallery_url", "\(path): must be the http(s):// URL the gallery folder is served at, e.g. \"https://photos.example.org/darkroom/\"")
            }
            config.galleryURL = url
        }
        if checkFolders { try config.checkFolders(raw: object) }
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

    /// True when `database` names a PostgreSQL server (`postgresql://…`) rather than an SQLite file.
    public static func isDatabaseURL(_ database: String) -> Bool {
        database.hasPrefix("postgresql://") || database.hasPrefix("postgres://")
    }

    /// True when the queue is a PostgreSQL server.
    public var usesPostgreSQL: Bool { DarkroomConfig.isDatabaseURL(database) }

    /// The options of model `name` (empty for a model given as a plain folder).
    public func options(forModel name: String) -> ModelOptions { modelOptions[name] ?? ModelOptions() }

    /// The checkpoint folder for a sidecar's `model` field (nil: the default model).
    public func modelPath(_ name: String?) throws -> (name: String, path: String) {
        let key = name ?? defaultModel
        guard let path = models[key] else {
            throw JobError(field: "model", "unknown model '\(JobError.quote(key))' (known: \(models.keys.sorted().joined(separator: ", ")))")
        }
        return (key, path)
    }
}

/// A model entry of config.json given as an object: `{"path": FOLDER, "prompt_embeddings": FILE, "text_encoder":
/// FOLDER, "tokenizer": FOLDER, "upscaler": FOLDER, "defaults": {"guidance": G, "stride": S, "upscale": B,
/// "upscale_steps": N, "upscale_guidance": G, "upscale_noise": L}}`. The defaults apply to jobs on this model before
/// the global ones.
public struct ModelOptions: Equatable {
    /// The prompt-embedding file of a DeepFloyd IF model (default: `prompt_embeddings.safetensors` in its folder).
    public var promptEmbeddings: String?
    /// The T5 encoder folder (config.json + weights) of a DeepFloyd IF model (default: `text_encoder/` in its folder).
    public var textEncoder: String?
    /// The folder holding T5's `spiece.model` (default: `tokenizer/` in the model's folder).
    public var tokenizer: String?
    public var guidance: Double?
    public var stride: Int?
    /// A DeepFloyd IF stage II folder that upscales this (stage I) model's results.
    public var upscaler: String?
    /// Whether jobs upscale when their sidecar does not say, and the settings they upscale with.
    public var upscale: Bool?
    public var upscaleSteps: Int?
    public var upscaleGuidance: Double?
    public var upscaleNoise: Int?

    public init(promptEmbeddings: String? = nil, guidance: Double? = nil, stride: Int? = nil) {
        self.promptEmbeddings = promptEmbeddings
        self.guidance = guidance
        self.stride = stride
    }

    static func read(_ entry: [String: Any], field: String, path: String) throws -> (folder: String, options: ModelOptions) {
        let known: Set<String> = ["path", "prompt_embeddings", "text_encoder", "tokenizer", "upscaler", "defaults"]
        try FieldReader.checkKeys(entry, known: known, field: field, in: path)
        let f = FieldReader(entry)
        guard let folder = try f.string("path"), !folder.isEmpty else {
            throw JobError(field: "\(field).path", "\(path): the model's checkpoint folder is missing")
        }
        var options = ModelOptions(promptEmbeddings: try f.string("prompt_embeddings"))
        options.textEncoder = try f.string("text_encoder")
        options.tokenizer = try f.string("tokenizer")
        options.upscaler = try f.string("upscaler")
        if let d = entry["defaults"] {
            let defaults = try SamplingDefaults.read(d, field: "\(field).defaults", path: path, allowSeed: false)
            options.guidance = defaults.guidance
            options.stride = defaults.stride
            options.upscale = defaults.upscale
            options.upscaleSteps = defaults.upscaleSteps
            options.upscaleGuidance = defaults.upscaleGuidance
            options.upscaleNoise = defaults.upscaleNoise
            if options.upscaler == nil, let key = (["upscale"] + Sidecar.upscaleFields).first(where: { (d as? [String: Any])?[$0] != nil }) {
                throw JobError(field: "\(field).defaults.\(key)", "\(path): the model has no \"upscaler\" (a DeepFloyd IF stage II folder) to upscale with")
            }
        }
        return (folder, options)
    }
}

/// A `defaults` object of config.json (global, or a model entry's): guidance, stride and, globally, seed; a model
/// entry's also the upscale fields of sidecars.
struct SamplingDefaults {
    var guidance: Double?
    var stride: Int?
    var seed: UInt64?
    var upscale: Bool?
    var upscaleSteps: Int?
    var upscaleGuidance: Double?
    var upscaleNoise: Int?

    static func read(_ value: Any, field: String, path: String, allowSeed: Bool) throws -> SamplingDefaults {
        guard let object = value as? [String: Any] else { throw JobError(field: field, "\(path): must be an object") }
        let allowed = allowSeed ? ["guidance", "seed", "stride"] : ["guidance", "stride", "upscale", "upscale_steps", "upscale_guidance", "upscale_noise"]
        try FieldReader.checkKeys(object, known: Set(allowed), field: field, in: path)
        let f = FieldReader(object)
        return SamplingDefaults(guidance: try f.double("guidance", in: 0...100), stride: try f.int("stride", in: 1...10_000),
                                seed: try f.int("seed", in: 0...Int.max).map(UInt64.init),
                                upscale: try f.bool("upscale"), upscaleSteps: try f.int("upscale_steps", in: 1...1_000),
                                upscaleGuidance: try f.double("upscale_guidance", in: 0...100),
                                upscaleNoise: try f.int("upscale_noise", in: 0...999))
    }
}
