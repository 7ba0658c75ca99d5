import Foundation
import DarkroomJobModel
import PostgresNIO

/// A LISTEN connection of its own, reconnecting with backoff, that wakes the threads waiting on a topic.
final class PostgresListener: @unchecked Sendable {
    let session: PostgresSession
    private var semaphores: [StoreTopic: DispatchSemaphore] = [:]
    private var started = false

    init(session: PostgresSession) {
        self.session = session
        for t in StoreTopic.allCases { semaphores[t] = DispatchSemaphore(value: 0) }
    }

    /// Starts the listening thread once.
    func start() {
        guard !started else { return }
        started = true
        let thread = Thread { [self] in
            var delay = 0.1
            while true {
                do {
                    let c = try session.connect()
                    for topic in StoreTopic.allCases {
                        let semaphore = semaphores[topic]!
                        c.addListener(channel: topic.rawValue) { _, _ in semaphore.signal() }
                        _ = try session.run(c, PostgresQuery(unsafeSQL: "LISTEN \(topic.rawValue)"))
                    }
                    delay = 0.1
                    // Whatever happened while no one listened may have queued work: wake everyone once.
                    for s in semaphores.values { s.signal() }
                    try? c.closeFuture.wait()
                } catch {
                    Thread.sleep(forTimeInterval: delay)
                    delay = min(delay * 2, 2)
                }
            }
        }
        thread.name = "darkroom-listen"
        thread.start()
    }

    func wait(_ topic: StoreTopic, timeout: TimeInterval) -> Bool {
        let semaphore = semaphores[topic]!
        let woken = semaphore.wait(timeout: .now() + max(0, timeout)) == .success
        // Several notifications may have piled up; one wake-up covers them.
        while semaphore.wait(timeout: .now()) == .success {}
        return woken
    }
}
