import Foundation
import DarkroomJobModel
import GRDB

extension SQLiteJobStore {
    public func job(inputHash: String) throws -> Job? {
        try writer.read { try Job.filter(Column("input_hash") == inputHash).fetchOne($0) }
    }

    public func enqueue(_ job: Job, inputs: [JobFile]) throws -> (job: Job, inserted: Bool) {
        try writer.write { db in
            if let existing = try Job.filter(Column("input_hash") == job.inputHash).fetchOne(db) {
                return (existing, false)
            }
            var j = job
            try j.insert(db)
            try Self.insertInputs(inputs, of: j.id!, db)
            return (j, true)
        }
    }

    public func insert(_ record: Job, inputs: [JobFile], whileInserting body: (Job) throws -> Job) throws -> Job {
        try writer.write { db in
            var row = record
            try row.insert(db)
            let final = try body(row)
            try final.update(db)
            try Self.insertInputs(inputs, of: final.id!, db)
            return final
        }
    }

    static func insertInputs(_ inputs: [JobFile], of id: Int64, _ db: Database) throws {
        for f in inputs {
            try db.execute(sql: "INSERT INTO job_inputs (job_id, role, name, data) VALUES (?, ?, ?, ?)", arguments: [id, f.role, f.name, f.data])
        }
    }
}
