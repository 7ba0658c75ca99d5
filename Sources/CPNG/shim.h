// CPNG: libpng 1.6 for reading and writing PNG files.
#include <png.h>
