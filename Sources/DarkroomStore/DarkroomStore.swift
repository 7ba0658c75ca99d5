// DarkroomStore: the job queue and its history behind one protocol (`JobStore`), in SQLite (GRDB) or PostgreSQL
// (postgres-nio).
import Foundation
import DarkroomJobModel
