import Foundation

/// One file a job wrote, typed: the worker records it and the gallery shows it without looking at its name.
public struct JobResult: Codable, Equatable, Sendable {
    // The file's bytes travel in the database beside this row (the store's `data` column), not in this value.
    public var id: Int64?
    public var jobID: Int64
    public var kind: ResultKind
    public var path: String
    public var size: Int64
    /// The k of `result-<k>.png` (1 for `result.png`); nil for other kinds.
    public var index: Int?

    public init(jobID: Int64 = 0, kind: ResultKind, path: String, size: Int64 = 0, index: Int? = nil) {
        self.jobID = jobID
        self.kind = kind
        self.path = path
        self.size = size
        self.index = index
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, path, size
        case jobID = "job_id", index = "step"
    }
}

/// What a file a job wrote is.
public enum ResultKind: String, Codable, CaseIterable, Sendable {
    case result, comparison, gif, input, mask
    /// A result before upscaling (`stage1*.png`).
    case stageOne = "stage1"
}
