import Foundation
import DarkroomSupport

/// What an unattended daemon removes (config.json `"retention"`): ended jobs older than `days`, ended jobs beyond the
/// newest `maxJobs`, and files in `inbox/rejected/` and `inbox/duplicates/` older than `rejectedDays`. Starred jobs
/// stay unless `keepStarred` is false; a queued or running job is never removed. Absent: nothing is ever removed.
public struct RetentionPolicy: Equatable, Sendable {
    public var days: Double?
    public var maxJobs: Int?
    public var rejectedDays: Double?
    public var keepStarred = true

    public init(days: Double? = nil, maxJobs: Int? = nil, rejectedDays: Double? = nil, keepStarred: Bool = true) {
        self.days = days
        self.maxJobs = maxJobs
        self.rejectedDays = rejectedDays
        self.keepStarred = keepStarred
    }

    /// True when the policy removes nothing.
    public var removesNothing: Bool { days == nil && maxJobs == nil && rejectedDays == nil }

    /// The end time before which an ended job is past `days`, at `now`.
    public func cutoff(now: Date) -> Date? { days.map { now.addingTimeInterval(-$0 * 86_400) } }

    /// Reads config.json's `"retention"` object; errors name `retention.KEY`.
    public static func read(_ raw: Any, path: String) throws -> RetentionPolicy {
        guard let object = raw as? [String: Any] else {
            throw JobError(field: "retention", "\(path): must be an object, e.g. {\"days\": 90, \"max_jobs\": 5000, \"rejected_days\": 14}")
        }
        try FieldReader.checkKeys(object, known: ["days", "max_jobs", "rejected_days", "keep_starred"], field: "retention", in: path)
        let f = FieldReader(object)
        do {
            return RetentionPolicy(days: try f.double("days", in: 0...36_500), maxJobs: try f.int("max_jobs", in: 1...100_000_000),
                                   rejectedDays: try f.double("rejected_days", in: 0...36_500), keepStarred: try f.bool("keep_starred") ?? true)
        } catch let e as JobError {
            throw JobError(field: "retention.\(e.field ?? "")", "\(path): \(e.message)")
        }
    }
}
