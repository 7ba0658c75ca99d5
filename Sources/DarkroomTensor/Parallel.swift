import Foundation

/// Splits `0..<count` into contiguous ranges and runs `body` on them across the engine's threads.
///
/// Work smaller than `minimumChunk` elements per thread stays on the calling thread, where dispatch would cost
/// more than it saves.
@inlinable
public func parallelRanges(_ count: Int, minimumChunk: Int = 16_384, _ body: (Range<Int>) -> Void) {
    let parts = min(Engine.threads, max(1, count / max(minimumChunk, 1)))
    if parts <= 1 {
        if count > 0 { body(0..<count) }
        return
    }
    let step = (count + parts - 1) / parts
    DispatchQueue.concurrentPerform(iterations: parts) { part in
        let lower = part * step
        let upper = min(count, lower + step)
        if lower < upper { body(lower..<upper) }
    }
}
