import Foundation

/// `DispatchQueue.concurrentPerform` for non-Sendable work closures (the engine's kernels, gallery pages).
///
/// Safe because every caller gives each iteration a disjoint part of its buffers (rows, columns, samples or pages),
/// and `concurrentPerform` returns only after every iteration has finished, so nothing the closure captures outlives
/// the call or is written by two iterations.
@inlinable
public func performConcurrently(_ iterations: Int, _ body: (Int) -> Void) {
    withoutActuallyEscaping(body) { body in
        nonisolated(unsafe) let work = body
        DispatchQueue.concurrentPerform(iterations: iterations) { work($0) }
    }
}

/// The first error of concurrent shards, behind a lock.
public final class FirstError: @unchecked Sendable {
    // @unchecked: `stored` is only read and written while `lock` is held.
    private let lock = NSLock()
    private var stored: Error?

    public init() {}

    public func keep(_ error: Error) {
        lock.lock(); defer { lock.unlock() }
        if stored == nil { stored = error }
    }

    public var error: Error? {
        lock.lock(); defer { lock.unlock() }
        return stored
    }
}
