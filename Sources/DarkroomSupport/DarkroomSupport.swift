// DarkroomSupport: atomic files, the JSON field reader, content hashing, the error that names a field, the CPU.
