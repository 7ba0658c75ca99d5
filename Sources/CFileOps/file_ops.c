// File operations Swift's Glibc module does not expose (they need _GNU_SOURCE).
#define _GNU_SOURCE
#include <stdio.h>
#include <fcntl.h>
#include "file_ops.h"

int darkroom_rename_noreplace(int old_dir, const char *old, int new_dir, const char *new_name) {
    return renameat2(old_dir, old, new_dir, new_name, RENAME_NOREPLACE);
}
