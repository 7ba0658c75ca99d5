// DarkroomSupport: atomic files, the JSON field reader, content hashing and the error that names a field.
