import Foundation
import DarkroomJobModel

/// An event in the outbox: a job ended (done, failed, cancelled) or was rejected at intake.
///
/// The database writes it itself (a trigger on `jobs`), in the transaction that changed the job's state: no job ends
/// without its notice, whichever process or host ended it, and a crash right after loses nothing. `eventID` is made
/// once, with the row, so every retry of every delivery carries the same one.
public struct Notice: Sendable, Equatable {
    public var id: Int64
    /// Unique and stable: the receiver's key for "seen this already" (the `Idempotency-Key` header).
    public var eventID: String
    public var jobID: Int64
    /// The state the job ended in (it may have been retried since).
    public var state: JobState
    /// The job's error text when it ended, if any.
    public var error: String?
    public var createdAt: Date

    public init(id: Int64, eventID: String, jobID: Int64, state: JobState, error: String?, createdAt: Date) {
        self.id = id
        self.eventID = eventID
        self.jobID = jobID
        self.state = state
        self.error = error
        self.createdAt = createdAt
    }

    /// The event's name as receivers see it: `job.done`, `job.failed`, `job.rejected`, `job.cancelled`.
    public var event: String { "job.\(state.rawValue)" }

    /// The states a notice is written for.
    public static let states: [JobState] = [.done, .failed, .rejected, .cancelled]
}

/// One notice's delivery to one target: pending until it is delivered, or until the sender gives up (failed).
public struct NoticeDelivery: Sendable, Equatable {
    public enum Status: String, Sendable {
        case pending, delivered, failed
    }

    public var noticeID: Int64
    /// The target's key (`NotifyTarget.key`): a digest of its settings, never the URL itself.
    public var target: String
    public var status: Status
    public var attempts: Int
    /// When the first delivery was attempted or due: the sender gives up a day after it.
    public var firstAttemptAt: Date
    /// When the next attempt is due (pending only).
    public var nextAttemptAt: Date?
    /// The latest failure, as the sender logged it.
    public var lastError: String?
    public var deliveredAt: Date?

    public init(noticeID: Int64, target: String, status: Status, attempts: Int, firstAttemptAt: Date, nextAttemptAt: Date?,
                lastError: String?, deliveredAt: Date?) {
        self.noticeID = noticeID
        self.target = target
        self.status = status
        self.attempts = attempts
        self.firstAttemptAt = firstAttemptAt
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.deliveredAt = deliveredAt
    }
}

/// Which notices a target wants: its key and the states it is told of.
public struct NoticeSubscription: Sendable, Equatable {
    public var target: String
    public var states: Set<JobState>

    public init(target: String, states: Set<JobState>) {
        self.target = target
        self.states = states
    }
}

/// What an attempt to deliver came to.
public enum DeliveryOutcome: Sendable, Equatable {
    /// The receiver took it (HTTP 2xx, or the command exited 0).
    case delivered
    /// It failed; try again at `retryAt`, or give up when nil.
    case failed(error: String, retryAt: Date?)
}
