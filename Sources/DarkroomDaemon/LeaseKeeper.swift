import Foundation
import DarkroomStore

/// Renews a running job's lease on its own thread, so that a long sampler step never lets it lapse.
///
/// `lost` turns true when the store says the claim is gone (the job was rescued after this worker was stopped past
/// its lease, or it ended meanwhile), or when no renewal succeeded for a whole lease (the database unreachable: by
/// now another worker may have the job). The worker then stops the job at its next step and reports nothing.
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

    init(store: any JobStore, claim: Claim, lease: TimeInterval, renewEvery: TimeInterval) {
        self.store = store
        self.claim = claim
        self.lease = lease
        self.renewEvery = renewEvery
    }

    var lost: Bool { lock.withLock { _lost } }

    func start() {
        lock.withLock { running = true }
        let thread = Thread { [self] in
            var renewed = Date()
            while lock.withLock({ running }) {
                _ = wake.wait(timeout: .now() + renewEvery)
                guard lock.withLock({ running }) else { break }
                let now = Date()
                do {
                    if try store.renewLease(claim, lease: lease, now: now) {
                        renewed = now
                    } else {
                        lock.withLock { _lost = true }
                        DaemonLog.warning("\(ClaimLost(claim))")
                        break
                    }
                } catch {
                    DaemonLog.error("job \(claim.id): renewing the lease failed: \(error)")
                    if now.timeIntervalSince(renewed) >= lease {
                        lock.withLock { _lost = true }
                        DaemonLog.warning("job \(claim.id): no renewal for \(Int(lease)) s; another worker may have the job now, so this one stops")
                        break
                    }
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
