import Foundation
import GRDB

extension JobStore {
    /// The job with this input hash, if any (the same content dropped before).
    public func job(inputHash: String) throws -> Job? {
        try writer.read { try Job.filter(Column("input_hash") == inputHash).fetchOne($0) }
    }

    /// Inserts `record` and runs `body` with the stored row (id known) inside the same transaction, then stores the
    /// row `body` returns: when `body` throws, or the process dies before it returns, the row never existed. Intake
    /// moves a drop's files into the job's folder in `body`, so a job is queued exactly when its inputs are in place.
    public func insert(_ record: Job, whileInserting body: (Job) throws -> Job) throws -> Job {
        try writer.write { db in
            var row = record
            try row.insert(db)
            let final = try body(row)
            try final.update(db)
            return final
        }
    }
}
