// DarkroomStore: the job queue and its history in SQLite through GRDB (WAL, migrations, atomic claims).
import Foundation

/// The life of a job.
public enum JobState: String, Codable, CaseIterable, Sendable {
    case queued, running, done, failed, rejected
}
