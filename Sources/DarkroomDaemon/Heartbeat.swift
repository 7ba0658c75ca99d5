import Foundation

/// systemd's watchdog, fed from its own thread while the main loop is alive: it ticks every iteration (every 0.1 s),
/// or is inside a call known to take long (taking a drop, which may load a model). A process that is stopped
/// (SIGSTOP) or whose main loop hangs elsewhere stops feeding it, and systemd restarts it.
final class Heartbeat: @unchecked Sendable {
    // @unchecked Sendable: every field is read and written while `lock` is held.
    private let lock = NSLock()
    /// Monotonic seconds (a wall-clock step must not make a hung loop look alive).
    private var lastTick = Heartbeat.now()
    private var busySince: Double?
    private var running = false
    /// A busy call longer than this (a load stuck on a hung mount) no longer counts as alive.
    static let busyLimit: Double = 15 * 60

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    func tick() { lock.lock(); lastTick = Heartbeat.now(); lock.unlock() }

    func whileBusy<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock(); busySince = Heartbeat.now(); lock.unlock()
        defer { lock.lock(); busySince = nil; lastTick = Heartbeat.now(); lock.unlock() }
        return try body()
    }

    /// Sends WATCHDOG=1 every `interval`/4 while the loop is alive (ticked within `interval`/2, or busy).
    func start(interval: Double, notifier: SystemdNotifier) {
        lock.lock(); running = true; lock.unlock()
        let thread = Thread { [self] in
            while true {
                lock.lock()
                let now = Heartbeat.now()
                let busy = busySince.map { now - $0 < Heartbeat.busyLimit } ?? false
                let (go, alive) = (running, busy || now - lastTick < interval / 2)
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
