import Foundation
import DarkroomJobModel
import GRDB

extension SQLiteJobStore {
    /// A random id written into the database when it is created. The gallery records it too, so that job folders of
    /// one database are never mixed with another's (a lost database starts its ids at 1 again).
    public func databaseID() throws -> String {
        try writer.read { db in
            guard let id = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'database_id'") else {
                throw StoreError("the database has no id (meta table): was it made by a newer Darkroom?")
            }
            return id
        }
    }

    static func registerIdentityMigration(_ m: inout DatabaseMigrator) {
        m.registerMigration("v3: database identity") { db in
            try db.create(table: "meta") { t in
                t.primaryKey("key", .text)
                t.column("value", .text).notNull()
            }
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('database_id', ?)", arguments: [UUID().uuidString.lowercased()])
        }
    }
}

