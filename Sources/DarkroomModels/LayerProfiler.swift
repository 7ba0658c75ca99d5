import Foundation

/// Wall time by layer type, summed over every call (and every thread), for benchmarks that report where time goes.
// @unchecked Sendable: the totals are read and written only while `lock` is held.
public final class LayerProfiler: @unchecked Sendable {
    private var seconds: [String: Double] = [:]
    private var calls: [String: Int] = [:]
    private let lock = NSLock()

    public init() {}

    /// Runs `body` and adds its wall time to `kind`.
    @inlinable
    public func measure<T>(_ kind: String, _ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { add(kind, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
        return try body()
    }

    public func add(_ kind: String, _ elapsed: Double) {
        lock.lock()
        seconds[kind, default: 0] += elapsed
        calls[kind, default: 0] += 1
        lock.unlock()
    }

    /// (kind, seconds, calls), most time first.
    public var totals: [(kind: String, seconds: Double, calls: Int)] {
        lock.lock()
        defer { lock.unlock() }
        return seconds.map { ($0.key, $0.value, calls[$0.key] ?? 0) }.sorted { $0.1 > $1.1 }
    }

    public func reset() {
        lock.lock()
        seconds = [:]
        calls = [:]
        lock.unlock()
    }
}

/// Measures `body` under `kind` when a profiler is attached, else just runs it.
@inlinable
func profiled<T>(_ profiler: LayerProfiler?, _ kind: String, _ body: () throws -> T) rethrows -> T {
    guard let profiler else { return try body() }
    return try profiler.measure(kind, body)
}
