import DarkroomTensor
import Foundation

/// Wall time by layer type, summed over every call (and every thread), for benchmarks that report where time goes.
// @unchecked Sendable: the totals are read and written only while `lock` is held.
public final class LayerProfiler: @unchecked Sendable {
    private var seconds: [String: Double] = [:]
    private var calls: [String: Int] = [:]
    private var flops: [String: Double] = [:]
    private let lock = NSLock()

    public init() {}

    /// Runs `body` and adds its wall time to `kind`, and `flops` (its multiply–adds × 2, 0 where not counted).
    @inlinable
    public func measure<T>(_ kind: String, flops: Double = 0, _ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { add(kind, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, flops: flops) }
        return try body()
    }

    public func add(_ kind: String, _ elapsed: Double, flops counted: Double = 0) {
        lock.lock()
        seconds[kind, default: 0] += elapsed
        calls[kind, default: 0] += 1
        flops[kind, default: 0] += counted
        lock.unlock()
    }

    /// (kind, seconds, calls, floating-point operations counted), most time first.
    public var totals: [(kind: String, seconds: Double, calls: Int, flops: Double)] {
        lock.lock()
        defer { lock.unlock() }
        return seconds.map { ($0.key, $0.value, calls[$0.key] ?? 0, flops[$0.key] ?? 0) }.sorted { $0.1 > $1.1 }
    }

    public func reset() {
        lock.lock()
        seconds = [:]
        calls = [:]
        flops = [:]
        lock.unlock()
    }
}

/// Measures `body` under `kind` (counting `flops`) when a profiler is attached, else just runs it.
@inlinable
func profiled<T>(_ profiler: LayerProfiler?, _ kind: String, flops: @autoclosure () -> Double = 0, _ body: () throws -> T) rethrows -> T {
    guard let profiler else { return try body() }
    return try profiler.measure(kind, flops: flops(), body)
}

/// 2 · multiply–adds of a k×k, stride-1, same-size convolution from `x` [B,Ci,H,W] to `outputs` channels.
func convolutionFlops(_ x: Tensor, outputs: Int, kernel: Int) -> Double {
    let perOutput: Int = x.shape[1] * kernel * kernel
    let outputCount: Int = x.shape[0] * outputs * x.shape[2] * x.shape[3]
    return 2 * Double(perOutput) * Double(outputCount)
}
