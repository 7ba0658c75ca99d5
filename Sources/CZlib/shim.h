// CZlib: zlib, for gzipped IDX data and PNG text chunks.
#include <zlib.h>
