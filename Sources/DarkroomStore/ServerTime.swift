import Foundation
import DarkroomJobModel

/// How a store's callers name times: the `now` every lease call takes.
///
/// SQLite lives on the host that uses it, so `now` is simply the time. PostgreSQL is shared by hosts whose clocks
/// disagree, so it measures every lease on its own clock: `now` is read as an offset from the caller's clock (`now`
/// less `Date()` at the call), added to the server's time. A caller that passes `Date()` (every worker) gets the
/// server's time however wrong its own clock is; a test that passes `t0 + 15` steps 15 s ahead.
public enum ServerTime {
    /// `now` as an offset in seconds from the caller's clock.
    public static func offset(_ now: Date) -> Double {
        let offset = now.timeIntervalSinceNow
        // The microseconds between a caller's `Date()` and this line are not a step forward.
        return abs(offset) < 0.5 ? 0 : offset
    }
}
