// CGIF: giflib 5 for writing and reading animated GIFs.
#include <gif_lib.h>
