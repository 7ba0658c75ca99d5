import Foundation
import GRDB

/// One row of `jobs`: a job's parameters (resolved before work starts), state and timings.
public struct JobRecord: Codable, Equatable, Sendable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "jobs"

    public var id: Int64?
    /// The sidecar's base name.
    public var name: String
    public var state: JobState
    public var mode: String
    public var model: String
    public var prompt: String
    public var seed: Int64
    /// The resolved parameters as JSON (the job contract after defaults).
    public var parameters: String
    /// Hash of the model, the sidecar's content (keys sorted) and the input files' bytes: the same drop twice, under
    /// any name, is one job (a unique index). Rejections get a random one.
    public var inputHash: String
    /// The job's own folder (inputs moved there, outputs written there).
    public var folder: String
    /// File names of the input image and mask inside `folder`.
    public var image: String?
    public var mask: String?
    public var attempts: Int
    public var error: String?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Seconds per phase, as JSON.
    public var timings: String?
    /// Higher runs first; equal priorities run oldest first.
    public var priority: Int = 0
    /// A running job's `JobProgress` as JSON (nil otherwise).
    public var progress: String?
    /// Someone asked the running job to stop (`darkroom cancel`).
    public var cancelRequested: Bool = false

    public init(name: String, mode: String, model: String, prompt: String, seed: Int64, parameters: String,
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
        self.attempts = 0
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, name, state, mode, model, prompt, seed, parameters, folder, image, mask, attempts, error, timings, priority, progress
        case inputHash = "input_hash", cancelRequested = "cancel_requested", createdAt = "created_at", startedAt = "started_at", finishedAt = "finished_at"
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    /// Wall time from start to finish, when both are known.
    public var duration: TimeInterval? { startedAt.flatMap { s in finishedAt.map { $0.timeIntervalSince(s) } } }
}

/// One row of `results`: a file a job wrote.
public struct ResultRecord: Codable, Equatable, Sendable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "results"

    public var id: Int64?
    public var jobID: Int64
    public var kind: ResultKind
    public var path: String
    public var size: Int64
    /// Position among the job's results (the k of result-k.png).
    public var step: Int?

    public init(jobID: Int64, kind: ResultKind, path: String, size: Int64, step: Int? = nil) {
        self.jobID = jobID
        self.kind = kind
        self.path = path
        self.size = size
        self.step = step
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, path, size, step
        case jobID = "job_id"
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
