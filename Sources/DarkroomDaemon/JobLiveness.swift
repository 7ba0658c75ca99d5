import Foundation

/// Whether a worker's running job is alive: it is while it makes progress (a sampler step, an encoded T5 block, the
/// start of loading or writing), however long it runs. A job with no progress for `stallSeconds` is stalled: the
/// heartbeat stops feeding systemd's watchdog and the lease keeper stops renewing, so that the next process (after
/// systemd's restart, or any worker once the lease runs out) ends it: queued again, or failed after `max_attempts`.
///
/// Times are monotonic (a wall-clock step neither stalls a job nor revives one).
// @unchecked Sendable: every field is read and written while `lock` is held.
final class JobLiveness: @unchecked Sendable {
    let stallSeconds: Double
    private let lock = NSLock()
    private var job: Int64?
    private var lastProgress = 0.0
    private var place = ""
    private var reported = false

    init(stallSeconds: Double) { self.stallSeconds = stallSeconds }

    /// A job's place and how long it has made no progress there.
    struct Stall: CustomStringConvertible {
        var job: Int64
        var place: String
        var seconds: Double
        var description: String {
            String(format: "job %lld stalled: no progress for %.0f s in %@", job, seconds, place)
        }
    }

    /// Job `id` starts: alive from now.
    func begin(_ id: Int64) {
        lock.withLock { job = id; lastProgress = Heartbeat.now(); place = "starting"; reported = false }
    }

    /// The job made progress at `place` ("stage I step 9/30").
    func progressed(_ where: String) {
        lock.withLock { lastProgress = Heartbeat.now(); place = `where` }
    }

    /// The job ended.
    func end() { lock.withLock { job = nil } }

    /// True while a job runs (stalled or not).
    var isRunning: Bool { lock.withLock { job != nil } }

    /// The running job's stall, or nil while it progresses (or none runs). The first time a stall is seen it is logged.
    func stall(now: Double = Heartbeat.now()) -> Stall? {
        let (found, first) = lock.withLock { () -> (Stall?, Bool) in
            guard let job, now - lastProgress >= stallSeconds else { return (nil, false) }
            defer { reported = true }
            return (Stall(job: job, place: place, seconds: now - lastProgress), !reported)
        }
        if let found, first {
            DaemonLog.error("\(found) (job_stall_seconds is \(Int(stallSeconds))): the watchdog is no longer fed and the lease no longer renewed; the next process ends the job")
        }
        return found
    }
}
