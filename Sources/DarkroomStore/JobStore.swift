import Foundation
import DarkroomJobModel
import DarkroomSupport

/// The job queue and its history: one protocol, two engines (`SQLiteJobStore`, `PostgresJobStore`), one schema and one
/// state machine, tested by one suite.
///
/// States: queued → running → done | failed | cancelled, rejected at intake. A worker claims a job with a lease and
/// renews it while it runs; a job whose lease expired (the worker killed, its host lost) is queued again by any live
/// process, or failed once it has used `maxAttempts`. Everything a worker reports about a job is fenced by its
/// `Claim`: once the job was rescued and claimed again, the late worker's results and state are refused.
public protocol JobStore: AnyObject, Sendable {
    /// Which engine keeps the queue.
    var engine: StoreEngine { get }
    /// The database as logs and errors name it: the SQLite path, or the PostgreSQL URL without its password.
    var location: String { get }

    /// A random id written when the database is created; a gallery records it so that two databases never mix.
    func databaseID() throws -> String

    // MARK: Intake

    /// The job with this input hash, if any (the same content dropped before).
    func job(inputHash: String) throws -> Job?
    /// Adds a job (and its input files) unless one with the same input hash exists; returns the job and whether it is
    /// new. The hash is a unique index: two intakes racing on one drop queue it once.
    func enqueue(_ job: Job, inputs: [JobFile]) throws -> (job: Job, inserted: Bool)
    /// Inserts `record` and its inputs and runs `body` with the stored row (id known) inside the same transaction, then
    /// stores the row `body` returns: when `body` throws, or the process dies before it returns, the row never existed.
    func insert(_ record: Job, inputs: [JobFile], whileInserting body: (Job) throws -> Job) throws -> Job

    // MARK: Workers

    /// Claims the queued job of highest priority, oldest first among equals, in one statement: running, held by
    /// `worker` until `now + lease`, attempt + 1. Among jobs of the top priority, one for `preferredModel` goes first.
    /// Nothing is claimed while the queue is paused.
    func claimNext(worker: String, lease: TimeInterval, preferredModel: String?, now: Date) throws -> Job?
    /// This host's clock less the database's, in seconds, recorded for `worker` (meta `clock_skew/WORKER`): leases run
    /// on the database's clock, so a skewed worker works normally, but its logs' times are off. SQLite, on this host: 0.
    func measureClockSkew(worker: String) throws -> TimeInterval
    /// Extends the claim's lease; false when the job is no longer this claim's (rescued, cancelled, finished).
    func renewLease(_ claim: Claim, lease: TimeInterval, now: Date) throws -> Bool
    /// The input files intake stored for the job.
    func inputs(of id: Int64) throws -> [JobFile]
    /// Records a running job's progress and latest preview image (refused silently once the claim is lost).
    func setProgress(_ claim: Claim, _ progress: JobProgress, preview: Data?) throws
    /// Ends the claimed job in `state` (done, failed or cancelled) in one transaction: the error text, the timings
    /// (JSON) and, unless it failed, its result rows and their bytes (one per result, or none) replacing any earlier.
    /// Throws `ClaimLost` when the job is no longer this claim's: nothing is written. (`finish`, `fail` and
    /// `markCancelled` say it in the workers' words.)
    func end(_ claim: Claim, as state: JobState, error: String?, results: [JobResult], files: [Data], timings: JobTimings?, now: Date) throws
    /// Returns the claimed job to the queue without counting the attempt (a clean stop, not a crash).
    /// Returns false (changing nothing) when the job is no longer this claim's.
    @discardableResult
    func requeue(_ claim: Claim) throws -> Bool
    /// Queues again every running job whose lease expired, or fails it once it has used `maxAttempts` (a job that
    /// keeps killing its workers is poison). Returns the ids of each.
    func rescueExpiredLeases(maxAttempts: Int, now: Date) throws -> (requeued: [Int64], failed: [Int64])
    /// The same for every running job held by `worker`, whatever its lease: a worker that restarts under the same id
    /// knows its earlier run died (the daemon's own worker after a kill).
    func recoverJobs(of worker: String, maxAttempts: Int, now: Date) throws -> (requeued: [Int64], failed: [Int64])

    // MARK: People

    /// Marks a job that is not running failed (or rejected), keeping the error text.
    func fail(_ id: Int64, error: String, state: JobState, now: Date) throws
    /// Cancels a job: a queued one at once; a running one is asked to stop at its next step. Returns the state the job
    /// had, or nil when there is no such job.
    func cancel(_ id: Int64, now: Date) throws -> JobState?
    /// True when someone asked the running job `id` to stop.
    func cancelRequested(_ id: Int64) throws -> Bool
    /// Puts a failed or cancelled job back in the queue with a fresh attempt count.
    func retry(_ id: Int64) throws -> Bool
    /// Whether workers take new jobs. Stored in the database, so a pause survives restarts and reaches every host.
    func isPaused() throws -> Bool
    func setPaused(_ paused: Bool) throws

    // MARK: Reading

    func job(_ id: Int64) throws -> Job?
    /// Jobs, newest first, optionally of one state.
    func jobs(state: JobState?, limit: Int?, offset: Int) throws -> [Job]
    /// How many jobs are newer than job `id` (its position in a newest-first listing).
    func newerJobCount(than id: Int64) throws -> Int
    /// Every mode jobs have (for listings' filters).
    func modes() throws -> [String]
    /// The presets jobs came through, sorted (for the gallery's filter).
    func presets() throws -> [String]
    func results(of jobID: Int64) throws -> [JobResult]
    /// Every result row, grouped by job (one query, for gallery rebuilds).
    func allResults() throws -> [Int64: [JobResult]]
    /// The first result image of every job that has one (job id → path), in one query.
    func thumbnails(of ids: [Int64]?) throws -> [Int64: String]
    /// Number of jobs per state.
    func counts() throws -> [JobState: Int]
    /// The bytes of every result file of a job that the database holds, by result id.
    func resultFiles(of jobID: Int64) throws -> [Int64: Data]
    /// The latest preview image of a running job.
    func preview(of id: Int64) throws -> Data?
    /// Removes result rows whose files are gone and whose bytes the database does not hold; returns how many.
    func forgetMissingResults() throws -> Int

    // MARK: The gallery host

    /// Jobs that ended and whose files the gallery has not written yet, oldest first.
    func jobsToExport(limit: Int) throws -> [Int64]
    /// Records that the gallery wrote the job's files and page, as they were when the job ended at `endedAt` (its
    /// `finishedAt` as the export read it). A job that ended again meanwhile (retried and run again while its export
    /// was in flight) is left to export once more.
    func markExported(_ id: Int64, endedAt: Date?) throws

    // MARK: Retention

    /// Stars or unstars job `id`; false when there is no such job.
    func setStarred(_ id: Int64, _ starred: Bool) throws -> Bool
    /// The jobs `policy` removes at `now`, oldest first: ended (done, failed, cancelled, rejected), ended before its
    /// cutoff or older than the newest `maxJobs` jobs, and not starred unless the policy says so. Never a queued or
    /// running one.
    func jobsPastRetention(_ policy: RetentionPolicy, now: Date) throws -> [Job]
    /// Deletes the jobs of `ids` that are still ended (and not starred, when `keepStarred`), with their results,
    /// inputs and notices, in one transaction; returns the ids it deleted.
    func deleteEndedJobs(_ ids: [Int64], keepStarred: Bool) throws -> [Int64]

    // MARK: Notices (the outbox)

    /// Gives every notice not yet fanned out one pending delivery per subscription that wants its state, due `now`,
    /// in one transaction; a notice no subscription wants is settled with none. Returns how many deliveries it added.
    func fanOutNotices(to subscriptions: [NoticeSubscription], now: Date) throws -> Int
    /// Pending deliveries due at `now`, oldest notice first, with their notices.
    func dueDeliveries(now: Date, limit: Int) throws -> [(notice: Notice, delivery: NoticeDelivery)]
    /// Records an attempt at one delivery (the attempt count goes up by one).
    func recordDelivery(notice: Int64, target: String, _ outcome: DeliveryOutcome, now: Date) throws
    /// Deliveries, newest notice first: pending and failed ones, and delivered ones too when `includeDelivered`.
    func deliveries(includeDelivered: Bool, limit: Int) throws -> [(notice: Notice, delivery: NoticeDelivery)]
    /// The notices of one job, oldest first (tests, `status --notices`).
    func notices(of jobID: Int64) throws -> [Notice]

    // MARK: Prompt embeddings

    func promptEmbedding(encoder: String, prompt: String) throws -> StoredEmbedding?
    func savePromptEmbedding(encoder: String, prompt: String, _ embedding: StoredEmbedding) throws
    /// (encoder, prompt) of every stored embedding, sorted.
    func promptEmbeddingKeys() throws -> [(encoder: String, prompt: String)]

    // MARK: Wake-ups

    /// Waits until another process may have changed `topic` (LISTEN/NOTIFY on PostgreSQL), or `timeout` passes
    /// (polling is the backstop on both engines). Returns true when woken by a notification.
    func waitForChange(_ topic: StoreTopic, timeout: TimeInterval) -> Bool
}

/// The database engines Darkroom runs on.
public enum StoreEngine: String, Sendable {
    case sqlite, postgresql
}

/// What a wait is for.
public enum StoreTopic: String, Sendable, CaseIterable {
    /// A job became claimable (queued, re-queued, retried, resumed).
    case queued = "darkroom_queued"
    /// A job ended (done, failed, cancelled): the gallery host writes its files.
    case ended = "darkroom_ended"
}

/// A problem opening or using the job database; says which database and what to do. Transient: whatever was being
/// done is retried, never rejected or failed because of it.
public struct StoreError: TransientError, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// How a worker ends a claimed job, the same on every engine.
extension JobStore {
    /// Marks the claimed job done with its files and timings. Throws `ClaimLost` when the job is no longer this
    /// claim's: nothing is written.
    public func finish(_ claim: Claim, results: [JobResult], files: [Data], timings: [String: Double], now: Date) throws {
        try end(claim, as: .done, error: nil, results: results, files: files, timings: JobTimings(timings), now: now)
    }

    /// Marks the claimed job failed. Throws `ClaimLost` when it is no longer this claim's.
    public func fail(_ claim: Claim, error: String, now: Date) throws {
        try end(claim, as: .failed, error: error, results: [], files: [], timings: nil, now: now)
    }

    /// Marks the claimed job cancelled (it stopped at a step), keeping the files it wrote. Throws `ClaimLost`.
    public func markCancelled(_ claim: Claim, results: [JobResult], files: [Data], now: Date) throws {
        try end(claim, as: .cancelled, error: "cancelled while running", results: results, files: files, timings: nil, now: now)
    }
}

/// Defaults so that callers name only what they mean.
extension JobStore {
    public func enqueue(_ job: Job) throws -> (job: Job, inserted: Bool) { try enqueue(job, inputs: []) }
    public func claimNext(worker: String = WorkerIdentity.local, lease: TimeInterval = 30, preferredModel: String? = nil) throws -> Job? {
        try claimNext(worker: worker, lease: lease, preferredModel: preferredModel, now: Date())
    }
    public func finish(_ claim: Claim, results: [JobResult], files: [Data] = [], timings: [String: Double]) throws {
        try finish(claim, results: results, files: files, timings: timings, now: Date())
    }
    public func fail(_ claim: Claim, error: String) throws { try fail(claim, error: error, now: Date()) }
    public func markCancelled(_ claim: Claim, results: [JobResult], files: [Data] = []) throws {
        try markCancelled(claim, results: results, files: files, now: Date())
    }
    public func fail(_ id: Int64, error: String, state: JobState = .failed) throws { try fail(id, error: error, state: state, now: Date()) }
    public func cancel(_ id: Int64) throws -> JobState? { try cancel(id, now: Date()) }
    public func jobs(state: JobState? = nil, limit: Int? = nil, offset: Int = 0) throws -> [Job] {
        try jobs(state: state, limit: limit, offset: offset)
    }
    public func thumbnails() throws -> [Int64: String] { try thumbnails(of: nil) }
    @discardableResult
    public func rescueExpiredLeases(maxAttempts: Int) throws -> (requeued: [Int64], failed: [Int64]) {
        try rescueExpiredLeases(maxAttempts: maxAttempts, now: Date())
    }
}

/// Names for workers.
public enum WorkerIdentity {
    /// This host's name.
    public static var host: String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The worker inside `darkroom watch` on this host: one per database (the daemon holds a lock), so a restarted
    /// daemon knows that jobs this name held were interrupted.
    public static var daemon: String { "\(host)/watch" }

    /// A fresh id for a worker process: host, pid and a random suffix (pids are reused).
    public static func process() -> String {
        "\(host)/\(getpid())/\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// The id used when none is given (tests, tools).
    public static let local = "local"
}
