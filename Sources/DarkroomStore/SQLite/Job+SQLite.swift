import Foundation
import DarkroomJobModel
import GRDB

/// A `Job` is a row of `jobs`; its parameters are a JSON string column.
extension Job: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "jobs"

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// A `JobResult` is a row of `results`.
extension JobResult: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "results"

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
