// CDNNL: oneDNN's C interface (Debian's libdnnl-dev, built with OpenMP threading), and the one OpenMP call Darkroom
// makes: how many threads oneDNN's parallel regions started from the calling thread use.
#include <oneapi/dnnl/dnnl.h>
void omp_set_num_threads(int threads);
