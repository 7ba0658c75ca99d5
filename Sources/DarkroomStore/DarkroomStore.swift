// DarkroomStore: the job queue and its history in SQLite through GRDB (WAL, migrations, atomic claims).
@_exported import DarkroomJobs
