import Foundation

/// systemd's watchdog, fed from its own thread while the process is alive: its main loop ticks every iteration (every
/// 0.1 s), or is inside a call known to take long (taking a drop, which may load a model), or its worker's job makes
/// progress (`JobLiveness`), however long the job runs. A process that is stopped (SIGSTOP), whose main loop hangs
/// elsewhere, or whose job has stalled stops feeding it, and systemd restarts it.
final class Heartbeat: @unchecked Sendable {
    // @unchecked Sendable: every field is read and written while `lock` is held.
    private let lock = NSLock()
    /// Monotonic seconds (a wall-clock step must not make a hung loop look alive).
    private var lastTick = Heartbeat.now()
    private var busySince: Double?
    private var running = false
    /// systemd's watchdog interval (set by `start`).
    private var interval: Double = 60
    /// A busy call longer than this (a load stuck on a hung mount) no longer counts as alive, unless a job runs and
    /// makes progress.
    static let busyLimit: Double = 15 * 60
    /// The worker's running job, when the process has a worker.
    let job: JobLiveness?

    init(job: JobLiveness? = nil) { self.job = job }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    func tick() { lock.lock(); lastTick = Heartbeat.now(); lock.unlock() }

    /// Whether the busy call runs the worker's jobs (then it is alive while they progress, however long).
    private var busyRunsJobs = false

    /// Runs `body`, a call that may take long, counting as alive meanwhile: up to `busyLimit`, or while a job progresses
    /// when `runsJobs` (the call runs the worker's job on this thread).
    func whileBusy<T>(runsJobs: Bool = false, _ body: () throws -> T) rethrows -> T {
        lock.lock(); busySince = Heartbeat.now(); busyRunsJobs = runsJobs; lock.unlock()
        defer { lock.lock(); busySince = nil; busyRunsJobs = false; lastTick = Heartbeat.now(); lock.unlock() }
        return try body()
    }

    /// True when the process counts as alive at `now` (monotonic seconds).
    /// A stalled job makes the process dead whichever thread runs it; a busy call that runs a progressing job (the
    /// `darkroom worker` loop) is alive for as long as the job runs.
    func isAlive(now: Double = Heartbeat.now()) -> Bool {
        if job?.stall(now: now) != nil { return false }
        let jobRunning = job?.isRunning == true
        return lock.withLock {
            let busy = busySince.map { (busyRunsJobs && jobRunning) || now - $0 < Heartbeat.busyLimit } ?? false
            return busy || now - lastTick < interval / 2
        }
    }

    /// Sends WATCHDOG=1 every `interval`/4 while the process is alive (ticked within `interval`/2, busy, or its job
    /// progressing), and nothing while its job is stalled.
    func start(interval: Double, notifier: SystemdNotifier) {
        lock.lock(); running = true; self.interval = interval; lock.unlock()
        let thread = Thread { [self] in
            while true {
                guard lock.withLock({ running }) else { return }
                if isAlive() { notifier.send("WATCHDOG=1") }
                Thread.sleep(forTimeInterval: interval / 4)
            }
        }
        thread.start()
    }

    func stop() { lock.lock(); running = false; lock.unlock() }
}
