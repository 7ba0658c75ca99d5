import Foundation
import GRDB

extension JobStore {
    /// Records a running job's progress (only while it is running).
    public func setProgress(_ id: Int64, _ progress: JobProgress) throws {
        let json = String(decoding: try JSONEncoder().encode(progress), as: UTF8.self)
        try writer.write { db in
            try db.execute(sql: "UPDATE jobs SET progress = ? WHERE id = ? AND state = 'running'", arguments: [json, id])
        }
    }
}
