import Foundation

/// Faults the process tests inject through the environment, read once at start: a slow sampler step, a step that
/// never returns (a read from a hung mount, as the worker sees it). Unset, each costs one comparison per step.
///
/// - `DARKROOM_TEST_STEP_SECONDS=S`: every sampler step of every job also sleeps S seconds.
/// - `DARKROOM_TEST_HANG_AT_STEP=N`: a job's N-th step never returns.
/// - `DARKROOM_TEST_KILL_AT=POINT`: the process kills itself with SIGKILL when it reaches `POINT` (a kill -9 at an
///   exact place, for the tests of what the next start repairs).
/// - `DARKROOM_TEST_LOSE_CLAIM_REPLIES=N`: the process's first N claims on PostgreSQL commit, then lose their reply
///   as a dropped connection loses it (the connection is closed before the job is handed over).
/// - `DARKROOM_TEST_RECONNECT_SECONDS=S`: PostgreSQL calls give up reconnecting after S seconds instead of 120 (an
///   outage longer than the retries, in seconds instead of minutes).
/// - `DARKROOM_TEST_NOTICE_RETRY_SECONDS=S`: a failed notice is first tried again after S seconds instead of 10 (the
///   backoff doubles from there as it does from 10).
/// - `DARKROOM_TEST_PRUNE_SECONDS=S`: `watch` prunes S seconds after it starts and every S seconds, not daily.
public enum TestHooks {
    public static let stepSeconds: Double? = ProcessInfo.processInfo.environment["DARKROOM_TEST_STEP_SECONDS"].flatMap(Double.init)
    public static let hangAtStep: Int? = ProcessInfo.processInfo.environment["DARKROOM_TEST_HANG_AT_STEP"].flatMap(Int.init)
    public static let killAt: String? = ProcessInfo.processInfo.environment["DARKROOM_TEST_KILL_AT"]
    public static let lostClaimReplies: Int = ProcessInfo.processInfo.environment["DARKROOM_TEST_LOSE_CLAIM_REPLIES"].flatMap(Int.init) ?? 0
    public static let reconnectSeconds: Double? = ProcessInfo.processInfo.environment["DARKROOM_TEST_RECONNECT_SECONDS"].flatMap(Double.init)
    public static let pruneSeconds: Double? = ProcessInfo.processInfo.environment["DARKROOM_TEST_PRUNE_SECONDS"].flatMap(Double.init)
    public static let noticeRetrySeconds: Double? = ProcessInfo.processInfo.environment["DARKROOM_TEST_NOTICE_RETRY_SECONDS"].flatMap(Double.init)

    /// Kills the process (SIGKILL, nothing flushed or cleaned up) when `DARKROOM_TEST_KILL_AT` names `point`.
    public static func killIfAt(_ point: String) {
        if killAt == point { kill(getpid(), SIGKILL) }
    }

    /// Called by a job at its `step`-th sampler step (counted from 1).
    public static func step(_ step: Int) {
        if let stepSeconds { Thread.sleep(forTimeInterval: stepSeconds) }
        if let hangAtStep, step == hangAtStep {
            while true { Thread.sleep(forTimeInterval: 3600) }
        }
    }
}
