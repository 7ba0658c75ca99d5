import Foundation
import DarkroomStore
import DarkroomJobModel

/// Renews a running job's lease on its own thread, so that a long sampler step never lets it lapse.
///
/// `lost` turns true when the store says the claim is gone (the job was rescued after this worker was stopped past
/// its lease, or it ended meanwhile), or as soon as a whole lease has passed since the last renewal the database
/// confirmed (measured on this process's monotonic clock from before the statement was sent, so never later than the
/// database's own expiry): a renewal stuck retrying an unreachable server does not delay it. By then another worker
/// may have the job, so the worker stops it at its next step and reports nothing.
///
/// A stalled job (`JobLiveness`) is not renewed: its lease runs out and the next process ends it.
// @unchecked Sendable: `lost` and `running` are guarded by `lock`; the rest is immutable.
final class LeaseKeeper: @unchecked Sendable {
    let store: any JobStore
    let claim: Claim
    let lease: TimeInterval
    let renewEvery: TimeInterval
    private let lock = NSLock()
    private let wake = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)
    private var running = false
    private var _lost = false
    /// Monotonic time before the last renewal (or the claim) the database confirmed.
    private var confirmed: Double
    let liveness: JobLiveness?

    /// `claimedAt`: monotonic time before the claim statement was sent.
    init(store: any JobStore, claim: Claim, lease: TimeInterval, renewEvery: TimeInterval, liveness: JobLiveness? = nil,
         claimedAt: Double = Heartbeat.now()) {
        self.store = store
        self.claim = claim
        self.lease = lease
        self.renewEvery = renewEvery
        self.liveness = liveness
        confirmed = claimedAt
    }

    /// Once true, stays true (a renewal that succeeds later does not undo a stop that may already have happened).
    var lost: Bool {
        lock.withLock {
            if !_lost, Heartbeat.now() - confirmed >= lease { _lost = true }
            return _lost
        }
    }

    func start() {
        lock.withLock { running = true }
        let thread = Thread { [self] in
            while lock.withLock({ running }) {
                _ = wake.wait(timeout: .now() + renewEvery)
                guard lock.withLock({ running }) else { break }
                if liveness?.stall() != nil { continue }
                let sent = Heartbeat.now()
                do {
                    if try store.renewLease(claim, lease: lease, now: Date()) {
                        lock.withLock { confirmed = max(confirmed, sent) }
                    } else {
                        lock.withLock { _lost = true }
                        // A renewal racing the job's own end finds it ended by this very attempt: nothing was lost.
                        let ended = (try? store.job(claim.id)).flatMap { $0 }.map { $0.state.isFinal && $0.attempts == claim.attempt } ?? false
                        if !ended { DaemonLog.warning("\(ClaimLost(claim))") }
                        break
                    }
                } catch {
                    DaemonLog.error("job \(claim.id): renewing the lease failed: \(error)")
                }
                if lost {
                    DaemonLog.warning("job \(claim.id): no renewal confirmed for \(Int(lease)) s (lease_seconds); another worker may have the job now, so this one stops at its next step")
                    break
                }
            }
            done.signal()
        }
        thread.name = "darkroom-lease"
        thread.start()
    }

    /// Stops renewing (the job ended) and waits for the thread.
    func stop() {
        let wasRunning = lock.withLock { () -> Bool in defer { running = false }; return running }
        guard wasRunning else { return }
        wake.signal()
        done.wait()
    }
}
