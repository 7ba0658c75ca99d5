import Foundation
import DarkroomSupport
import GRDB

/// SQLite's errors that say the machine, not the job or the drop, is at fault: the database busy or locked past the
/// busy timeout, out of memory, an I/O error, a full disk, a file that cannot be opened or has become read-only.
/// Whatever hit one is retried with backoff (`FaultKind`), never rejected or failed.
extension DatabaseError: FaultClassifying {
    public var isTransientFault: Bool {
        [ResultCode.SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_NOMEM, .SQLITE_IOERR, .SQLITE_FULL, .SQLITE_CANTOPEN, .SQLITE_PROTOCOL,
         .SQLITE_READONLY].contains(resultCode.primaryResultCode)
    }
}
