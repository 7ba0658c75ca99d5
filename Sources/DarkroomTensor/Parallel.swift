import CBLAS
import DarkroomSupport
import Foundation

/// Per-thread flag: true on threads that run one shard of a batch and must not fan out again.
@usableFromInline
let serialThreadKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key, nil)
    return key
}()

/// True when the current thread is running a shard and must keep its work to itself.
@inlinable
public var isSerialThread: Bool { pthread_getspecific(serialThreadKey) != nil }

/// Splits `0..<count` into contiguous ranges and runs `body` on them across the engine's threads.
///
/// Work smaller than `minimumChunk` elements per thread, or work on a shard thread, stays on the calling thread,
/// where dispatch would cost more than it saves.
@inlinable
public func parallelRanges(_ count: Int, minimumChunk: Int = 16_384, _ body: (Range<Int>) -> Void) {
    let parts = isSerialThread ? 1 : min(Engine.threads, max(1, count / max(minimumChunk, 1)))
    if parts <= 1 {
        if count > 0 { body(0..<count) }
        return
    }
    let step = (count + parts - 1) / parts
    performConcurrently(parts) { part in
        let lower = part * step
        let upper = min(count, lower + step)
        if lower < upper { body(lower..<upper) }
    }
}

extension Engine {
    /// Runs `body` on up to `threads` contiguous shards of `0..<batch` at once, each single-threaded.
    ///
    /// Whole-batch parallelism beats splitting every GEMM and elementwise pass when the batch has at least one
    /// sample per thread: no synchronisation between layers, and the serial work between GEMMs runs in parallel
    /// too. Errors from any shard are rethrown (the first one).
    public static func shards(_ batch: Int, _ body: (Range<Int>) throws -> Void) throws {
        let parts = min(threads, batch)
        if parts <= 1 || isSerialThread {
            try body(0..<batch)
            return
        }
        let step = (batch + parts - 1) / parts
        let firstError = FirstError()
        try withoutActuallyEscaping(body) { body in
            // Safe: shards are disjoint ranges of the batch and concurrentPerform waits for all of them.
            nonisolated(unsafe) let work = body
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                pthread_setspecific(serialThreadKey, UnsafeRawPointer(bitPattern: 1))
                defer { pthread_setspecific(serialThreadKey, nil) }
                let lower = part * step, upper = min(batch, lower + step)
                guard lower < upper else { return }
                do { try work(lower..<upper) } catch { firstError.keep(error) }
            }
            if let error = firstError.error { throw error }
        }
    }
}
