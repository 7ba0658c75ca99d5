import Foundation
import DarkroomJobModel
import DarkroomNotify
import DarkroomStore

/// The gallery host delivers notices on a thread of its own: a receiver that hangs for its whole timeout delays other
/// notices, never intake, the worker or the gallery.
extension Daemon {
    /// How long a notice waits for its job's page to be exported before it is sent anyway (a link that works when the
    /// receiver follows it at once).
    static let noticeWaitsForExport: TimeInterval = 30

    /// Delivers what is due once: fans new notices out, then tries each due delivery whose job's files and page the
    /// gallery has written (or that waited `noticeWaitsForExport`).
    func deliverNotices(now: Date = Date()) {
        do {
            let unexported = Set(try store.jobsToExport(limit: 1000))
            try noticeSender.deliverDue(now: now) { notice in
                !unexported.contains(notice.jobID) || now.timeIntervalSince(notice.createdAt) > Daemon.noticeWaitsForExport
            }
        } catch {
            DaemonLog.error("notices: \(error)")
        }
    }

    /// Starts the sender's thread: a pass when woken (a job ended here, or NOTIFY on PostgreSQL through the export
    /// thread) and at least every second while targets exist (every `poll_seconds` without any, to settle notices).
    /// Returns the semaphore signalled when it stopped.
    func startNoticeSender() -> DispatchSemaphore {
        let stopped = DispatchSemaphore(value: 0)
        let interval = config.notify.isEmpty ? max(1, config.pollSeconds) : 1
        let thread = Thread { [self] in
            while daemonStopRequested == 0 {
                deliverNotices()
                _ = noticeWake.wait(timeout: .now() + interval)
            }
            stopped.signal()
        }
        thread.name = "notices"
        thread.start()
        return stopped
    }
}
