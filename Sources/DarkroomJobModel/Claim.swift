import Foundation

/// A worker's hold on a running job: the fencing token every report about the job carries.
public struct Claim: Equatable, Sendable, CustomStringConvertible {
    public var id: Int64
    /// The attempt number the claim set; a later claim of the same job has a higher one.
    public var attempt: Int
    public var worker: String

    public init(id: Int64, attempt: Int, worker: String) {
        self.id = id
        self.attempt = attempt
        self.worker = worker
    }

    /// The claim a freshly claimed job carries.
    public init(_ job: Job) {
        self.init(id: job.id!, attempt: job.attempts, worker: job.worker ?? "")
    }

    public var description: String { "job \(id) attempt \(attempt) by \(worker)" }
}

/// A worker reported on a job it no longer holds (its lease expired and the job was rescued, or it was cancelled):
/// nothing it sent was written.
public struct ClaimLost: Error, CustomStringConvertible {
    public let claim: Claim
    public init(_ claim: Claim) { self.claim = claim }
    public var description: String {
        "\(claim): the claim was lost (the lease expired and the job was queued again, or it ended meanwhile); the results of this attempt are discarded"
    }
}
