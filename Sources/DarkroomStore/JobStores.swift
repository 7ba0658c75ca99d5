import Foundation
import DarkroomJobModel

/// Opens the store config.json's `"database"` names: a `postgresql://` URL, or else the path of an SQLite file.
public func openJobStore(_ database: String) throws -> any JobStore {
    if PostgresSettings.isURL(database) { return try PostgresJobStore(url: database) }
    return try SQLiteJobStore(path: database)
}
