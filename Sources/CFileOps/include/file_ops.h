#ifndef DARKROOM_FILE_OPS_H
#define DARKROOM_FILE_OPS_H

/// renameat2(…, RENAME_NOREPLACE): moves `old` (in `old_dir`) to `new_name` (in `new_dir`) only if no entry of that
/// name exists, atomically. Returns 0, or -1 with errno (EEXIST when the name is taken; EINVAL or ENOSYS where the
/// file system or kernel cannot do it).
int darkroom_rename_noreplace(int old_dir, const char *old, int new_dir, const char *new_name);

#endif
