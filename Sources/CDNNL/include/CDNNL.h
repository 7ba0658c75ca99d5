// CDNNL: oneDNN's C interface (Debian's libdnnl-dev, built with OpenMP threading), loaded late.
//
// The dnnl_* functions Darkroom calls are defined in loader.c, which opens libdnnl.so.2 on first use and forwards
// to it. libgomp, which oneDNN brings, reads OMP_WAIT_POLICY only while it loads; loading it late lets Darkroom make
// its threads wait passively (unless the environment says otherwise), so that they do not spin on a core the
// engine's own threads need between two oneDNN calls. When the library is missing, every call fails cleanly
// (dnnl_runtime_error, or null) and Darkroom keeps its own kernels.
#include <oneapi/dnnl/dnnl.h>

/// How many threads the OpenMP regions started from the calling thread use (omp_set_num_threads; nothing when
/// oneDNN is not loaded).
void darkroom_omp_set_num_threads(int threads);

/// Sets what oneDNN's OpenMP must see when it loads (OMP_WAIT_POLICY=PASSIVE unless set). Call it first in main,
/// before any thread exists (setenv is not safe beside a concurrent getenv); loading does it again, harmlessly.
void darkroom_dnnl_prepare_environment(void);

/// Why libdnnl.so.2 could not be loaded (dlerror's text), or NULL when it is loaded.
const char *darkroom_dnnl_load_error(void);
