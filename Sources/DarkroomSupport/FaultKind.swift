import Foundation

/// Whose fault an error is, which decides what happens to the drop or job it hit.
///
/// - `drop`: the drop's (a bad sidecar, an unreadable image): rejected with a note.
/// - `job`: the job's (the model refuses it, NaN, an input that cannot be decoded): failed.
/// - `transient`: the machine's or the database's (unreachable, busy or restarting; a full disk, an I/O error, a
///   timeout): retried with backoff and logged, never a rejection or a failure.
public enum FaultKind: Sendable, Equatable {
    case drop, job, transient

    /// errno values that say the machine, not the input, is at fault.
    static let transientCodes: Set<Int32> = [ENOSPC, EDQUOT, EIO, EROFS, ENOMEM, EAGAIN, ETIMEDOUT, EMFILE, ENFILE, EBUSY, EINTR]

    /// Whose fault `error` is, in work on `input` (`.drop` at intake, `.job` in a worker): a transient error is
    /// nobody's, anything else is the input's.
    public static func of(_ error: any Error, in input: FaultKind) -> FaultKind { isTransient(error) ? .transient : input }

    /// Whether `error` is transient; anything else is the fault of the drop or job it hit (which, the caller knows).
    public static func isTransient(_ error: any Error) -> Bool {
        if let classified = error as? any FaultClassifying { return classified.isTransientFault }
        if let write = error as? AtomicFile.WriteError, let code = write.code { return transientCodes.contains(code) }
        if let code = posixCode(of: error) { return transientCodes.contains(code) }
        return false
    }

    /// The errno inside a Foundation error (itself, or its underlying error), if any.
    public static func posixCode(of error: any Error) -> Int32? {
        var current: NSError? = error as NSError
        while let e = current {
            if e.domain == NSPOSIXErrorDomain { return Int32(e.code) }
            if e.domain == NSCocoaErrorDomain, e.code == CocoaError.fileWriteOutOfSpace.rawValue { return ENOSPC }
            current = e.userInfo[NSUnderlyingErrorKey] as? NSError
        }
        return nil
    }
}

/// An error that is never the input's fault (the database unreachable, a statement timed out): the work is retried.
public protocol TransientError: FaultClassifying {}

extension TransientError {
    public var isTransientFault: Bool { true }
}

/// An error whose kind depends on its value (a database error code: busy and I/O errors are transient, a constraint
/// is not), told by the layer that knows the codes.
public protocol FaultClassifying: Error {
    var isTransientFault: Bool { get }
}
