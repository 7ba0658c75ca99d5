import Foundation

/// One job, fully resolved: what intake records, the worker runs and the gallery shows, whatever the database.
///
/// `parameters` holds every parameter of the edit with its seed (or says the job is a rejected drop, or that its
/// stored parameters no longer decode); `image` and `mask` are paths inside `folder`. Stored and printed with the
/// parameters as a JSON string under `parameters`, and progress and timings as JSON strings (the columns and the
/// keys `status --json` has always had).
public struct Job: Codable, Equatable, Sendable {
    public var id: Int64?
    /// The sidecar's base name.
    public var name: String
    public var state: JobState
    /// The mode, model, prompt (anagram and hybrid: "first | second") and seed, also inside `request`, kept apart for
    /// listings and for rejected drops ("-" when unknown).
    public var mode: String
    public var model: String
    public var prompt: String
    public var seed: Int64
    /// Every parameter of the edit, resolved at intake.
    public var parameters: JobParameters
    /// The edit, when the job has one.
    public var request: EditRequest? { parameters.request }
    /// Hash of the model, the sidecar's content (keys sorted) and the input files' bytes: the same drop twice, under
    /// any name, is one job (a unique index). Rejections get a random one.
    public var inputHash: String
    /// The job's own folder (inputs in `inputs/`, outputs beside them); for a rejection, where its files went.
    public var folder: String
    /// The input image and mask, relative to `folder`.
    public var image: String?
    public var mask: String?
    public var attempts: Int = 0
    public var error: String?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Seconds per phase, once done.
    public var timings: JobTimings?
    /// Higher runs first; equal priorities run oldest first.
    public var priority: Int = 0
    /// How far a running job is (nil otherwise).
    public var progress: JobProgress?
    /// Someone asked the running job to stop (`darkroom cancel`).
    public var cancelRequested: Bool = false
    /// The preset whose folder the drop came through (`inbox/<preset>/`), nil for a drop with its own sidecar.
    public var preset: String?
    /// The worker holding a running job (`host/pid/…`), nil otherwise.
    public var worker: String?
    /// Until when the worker's claim holds; past it any process may queue the job again (the worker is presumed dead).
    public var leaseExpiresAt: Date?
    /// Kept whatever the retention (`darkroom star`), shown and filtered in the gallery.
    public var starred: Bool = false

    public init(name: String, mode: String, model: String, prompt: String, seed: Int64, parameters: JobParameters,
                inputHash: String, folder: String, state: JobState = .queued, createdAt: Date = Date()) {
        self.name = name
        self.mode = mode
        self.model = model
        self.prompt = prompt
        self.seed = seed
        self.parameters = parameters
        self.inputHash = inputHash
        self.folder = folder
        self.state = state
        self.createdAt = createdAt
    }

    /// A job of a resolved request: mode, prompt and seed taken from it.
    public init(name: String, request: EditRequest, model: String, inputHash: String, folder: String = "") {
        self.init(name: name, mode: request.mode.rawValue, model: model,
                  prompt: request.prompts.isEmpty ? request.prompt : request.prompts.joined(separator: " | "),
                  seed: Int64(request.seed), parameters: .edit(request), inputHash: inputHash, folder: folder)
    }

    enum CodingKeys: String, CodingKey {
        case id, name, state, mode, model, prompt, seed, folder, image, mask, attempts, error, timings, priority, progress
        case worker, preset, starred
        case parameters, inputHash = "input_hash", cancelRequested = "cancel_requested", leaseExpiresAt = "lease_expires_at"
        case createdAt = "created_at", startedAt = "started_at", finishedAt = "finished_at"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decodeIfPresent(Int64.self, forKey: .id)
        name = try c.decode(String.self, forKey: .name)
        state = try c.decode(JobState.self, forKey: .state)
        mode = try c.decode(String.self, forKey: .mode)
        model = try c.decode(String.self, forKey: .model)
        prompt = try c.decode(String.self, forKey: .prompt)
        seed = try c.decode(Int64.self, forKey: .seed)
        parameters = JobParameters(json: try c.decodeIfPresent(String.self, forKey: .parameters) ?? "{}", state: state)
        inputHash = try c.decode(String.self, forKey: .inputHash)
        folder = try c.decode(String.self, forKey: .folder)
        image = try c.decodeIfPresent(String.self, forKey: .image)
        mask = try c.decodeIfPresent(String.self, forKey: .mask)
        attempts = try c.decodeIfPresent(Int.self, forKey: .attempts) ?? 0
        error = try c.decodeIfPresent(String.self, forKey: .error)
        createdAt = try c.decode(Date.self, forKey: .createdAt)
        startedAt = try c.decodeIfPresent(Date.self, forKey: .startedAt)
        finishedAt = try c.decodeIfPresent(Date.self, forKey: .finishedAt)
        timings = try c.decodeIfPresent(String.self, forKey: .timings).map { try JobTimings(json: $0) }
        priority = try c.decodeIfPresent(Int.self, forKey: .priority) ?? 0
        // A display hint the worker rewrites every second: one that does not decode shows as none.
        progress = try c.decodeIfPresent(String.self, forKey: .progress).flatMap { try? JobProgress(json: $0) }
        cancelRequested = try c.decodeIfPresent(Bool.self, forKey: .cancelRequested) ?? false
        worker = try c.decodeIfPresent(String.self, forKey: .worker)
        preset = try c.decodeIfPresent(String.self, forKey: .preset)
        leaseExpiresAt = try c.decodeIfPresent(Date.self, forKey: .leaseExpiresAt)
        starred = try c.decodeIfPresent(Bool.self, forKey: .starred) ?? false
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(state, forKey: .state)
        try c.encode(mode, forKey: .mode)
        try c.encode(model, forKey: .model)
        try c.encode(prompt, forKey: .prompt)
        try c.encode(seed, forKey: .seed)
        try c.encode(parameters.json, forKey: .parameters)
        try c.encode(inputHash, forKey: .inputHash)
        try c.encode(folder, forKey: .folder)
        try c.encodeIfPresent(image, forKey: .image)
        try c.encodeIfPresent(mask, forKey: .mask)
        try c.encode(attempts, forKey: .attempts)
        try c.encodeIfPresent(error, forKey: .error)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encodeIfPresent(startedAt, forKey: .startedAt)
        try c.encodeIfPresent(finishedAt, forKey: .finishedAt)
        try c.encodeIfPresent(timings?.json, forKey: .timings)
        try c.encode(priority, forKey: .priority)
        try c.encodeIfPresent(progress?.json, forKey: .progress)
        try c.encode(cancelRequested, forKey: .cancelRequested)
        try c.encodeIfPresent(worker, forKey: .worker)
        // Always present (null for a drop with its own sidecar): `status --json` scripts test it.
        try c.encode(preset, forKey: .preset)
        try c.encodeIfPresent(leaseExpiresAt, forKey: .leaseExpiresAt)
        try c.encode(starred, forKey: .starred)
    }

    /// Wall time from start to finish, when both are known.
    public var duration: TimeInterval? { startedAt.flatMap { s in finishedAt.map { $0.timeIntervalSince(s) } } }
}
