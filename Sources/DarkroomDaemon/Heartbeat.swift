import Foundation

/// systemd's watchdog, fed from its own thread while the main loop is alive: it ticks every iteration (every 0.1 s),
/// or is inside a call known to take long (taking a drop, which may load a model). A process that is stopped
/// (SIGSTOP) or whose main loop hangs elsewhere stops feeding it, and systemd restarts it.
final class Heartbeat: @unchecked Sendable {
    // @unchecked Sendable: every field is read and written while `lock` is held.
    private let lock = NSLock()
    private var lastTick = Date()
    private var busy = false
    private var running = false

    func tick() { lock.lock(); lastTick = Date(); lock.unlock() }

    func whileBusy<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock(); busy = true; lock.unlock()
        defer { lock.lock(); busy = false; lastTick = Date(); lock.unlock() }
        return try body()
    }

    /// Sends WATCHDOG=1 every `interval`/4 while the loop is alive (ticked within `interval`/2, or busy).
    func start(interval: Double, notifier: SystemdNotifier) {
        lock.lock(); running = true; lock.unlock()
        let thread = Thread { [self] in
            while true {
                lock.lock()
                let (go, alive) = (running, busy || Date().timeIntervalSince(lastTick) < interval / 2)
                lock.unlock()
                guard go else { return }
                if alive { notifier.send("WATCHDOG=1") }
                Thread.sleep(forTimeInterval: interval / 4)
            }
        }
        thread.start()
    }

    func stop() { lock.lock(); running = false; lock.unlock() }
}
