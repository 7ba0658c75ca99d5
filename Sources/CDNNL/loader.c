// Forwards oneDNN's C functions to libdnnl.so.2, opened on first use (see include/CDNNL.h).
#include "CDNNL.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

static void *library;
static const char *loadError;
static char loadErrorText[512];   // dlerror's text copied: glibc frees its own on the thread's next call or exit
static pthread_once_t once = PTHREAD_ONCE_INIT;

/// Whether this process may make memory executable, as oneDNN's JIT must (systemd's MemoryDenyWriteExecute=yes and
/// prctl's PR_SET_MDWE forbid it: mprotect with PROT_EXEC fails there).
static int mayGenerateCode(void) {
    void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) return 0;
    int allowed = mprotect(page, 4096, PROT_READ | PROT_EXEC) == 0;
    munmap(page, 4096);
    return allowed;
}

static void load(void) {
    if (!mayGenerateCode()) {
        loadError = "this process may not make memory executable (MemoryDenyWriteExecute), which oneDNN's JIT needs";
        return;
    }
    darkroom_dnnl_prepare_environment();
    library = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        snprintf(loadErrorText, sizeof loadErrorText, "%s", dlerror());
        loadError = loadErrorText;
    }
}

void darkroom_dnnl_prepare_environment(void) {
    // Before libgomp loads: its threads sleep when idle instead of spinning, unless the user chose otherwise.
    setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
}

static void *symbol(const char *name) {
    pthread_once(&once, load);
    return library ? dlsym(library, name) : NULL;
}

const char *darkroom_dnnl_load_error(void) {
    pthread_once(&once, load);
    return library ? NULL : (loadError ? loadError : "libdnnl.so.2 could not be opened");
}

void darkroom_omp_set_num_threads(int threads) {
    pthread_once(&once, load);
    if (!library) return;
    // libgomp came with libdnnl (RTLD_LOCAL): look it up through the library's own dependencies.
    void (*set)(int) = (void (*)(int))dlsym(library, "omp_set_num_threads");
    if (set) set(threads);
}

// One forwarding definition: the function's type, its result when oneDNN is missing, its parameters and arguments.
#define FORWARD(result, failure, name, parameters, arguments) \
    result name parameters { \
        typedef result (*function) parameters; \
        static function target; \
        if (!target) target = (function)symbol(#name); \
        if (!target) return failure; \
        return target arguments; \
    }

FORWARD(dnnl_status_t, dnnl_runtime_error, dnnl_engine_create, (dnnl_engine_t *engine, dnnl_engine_kind_t kind, size_t index), (engine, kind, index))
FORWARD(dnnl_status_t, dnnl_runtime_error, dnnl_stream_create, (dnnl_stream_t *stream, dnnl_engine_t engine, unsigned flags), (stream, engine, flags))
FORWARD(dnnl_status_t, dnnl_runtime_error, dnnl_stream_destroy, (dnnl_stream_t stream), (stream))
FORWARD(dnnl_status_t, dnnl_runtime_error, dnnl_stream_wait, (dnnl_stream_t stream), (stream))
FORWARD(const dnnl_version_t *, NULL, dnnl_version, (void), ())
FORWARD(dnnl_cpu_isa_t, dnnl_cpu_isa_all, dnnl_get_effective_cpu_isa, (void), ())
FORWARD(dnnl_status_t, dnnl_runtime_error, dnnl_memory_desc_init_by_tag,
        (dnnl_memory_desc_t *memory_desc, int ndims, const dnnl_dims_t dims, dnnl_data_type_t data_type, dnnl_format_tag_t tag),
        (memory_desc, ndims, dims, data_type, tag))
FORWARD(int, 0, dnnl_memory_desc_equal, (const dnnl_memory_desc_t *lhs, const dnnl_memory_desc_t *rhs), (lhs, rhs))
FORWARD(size_t, 0, dnnl_memory_desc_get_size, (const dnnl_memory_desc_t *memory_desc), (memory_desc))
FORWARD(dnnl_status_t, dnnl_runtime_error, dnnl_memory_create,
        (dnnl_memory_t *memory, const dnnl_memory_desc_t *memory_desc, dnnl_engine_t engine, void *handle),
        (memory, memory_desc, engine, handle))
FORWARD(dnnl_status_t, dnnl_runtime_error, dnnl_memory_destroy, (dnnl_memory_t memory), (memory))
FORWARD(dnnl_status_t, dnnl_runtime_error, dnnl_convolution_forward_desc_init,
        (dnnl_convolution_desc_t *conv_desc, dnnl_prop_kind_t prop_kind, dnnl_alg_kind_t alg_kind, const dnnl_memory_desc_t *src_desc,
         const dnnl_memory_desc_t *weights_desc, const dnnl_memory_desc_t *bias_desc, const dnnl_memory_desc_t *dst_desc,
         const dnnl_dims_t strides, const dnnl_dims_t padding_l, const dnnl_dims_t padding_r),
        (conv_desc, prop_kind, alg_kind, src_desc, weights_desc, bias_desc, dst_desc, strides, padding_l, padding_r))
FORWARD(dnnl_status_t, dnnl_runtime_error, dnnl_convolution_backward_data_desc_init,
        (dnnl_convolution_desc_t *conv_desc, dnnl_alg_kind_t alg_kind, const dnnl_memory_desc_t *diff_src_desc,
         const dnnl_memory_desc_t *weights_desc, const dnnl_memory_desc_t *diff_dst_desc,
         const dnnl_dims_t strides, const dnnl_dims_t padding_l, const dnnl_dims_t padding_r),
        (conv_desc, alg_kind, diff_src_desc, weights_desc, diff_dst_desc, strides, padding_l, padding_r))
FORWARD(dnnl_status_t, dnnl_runtime_error, dnnl_convolution_backward_weights_desc_init,
        (dnnl_convolution_desc_t *conv_desc, dnnl_alg_kind_t alg_kind, const dnnl_memory_desc_t *src_desc,
         const dnnl_memory_desc_t *diff_weights_desc, const dnnl_memory_desc_t *diff_bias_desc, const dnnl_memory_desc_t *diff_dst_desc,
         const dnnl_dims_t strides, const dnnl_dims_t padding_l, const dnnl_dims_t padding_r),
        (conv_desc, alg_kind, src_desc, diff_weights_desc, diff_bias_desc, diff_dst_desc, strides, padding_l, padding_r))
FORWARD(dnnl_status_t, dnnl_runtime_error, dnnl_primitive_desc_create,
        (dnnl_primitive_desc_t *primitive_desc, const_dnnl_op_desc_t op_desc, const_dnnl_primitive_attr_t attr, dnnl_engine_t engine,
         const_dnnl_primitive_desc_t hint_forward_primitive_desc),
        (primitive_desc, op_desc, attr, engine, hint_forward_primitive_desc))
FORWARD(dnnl_status_t, dnnl_runtime_error, dnnl_primitive_desc_destroy, (dnnl_primitive_desc_t primitive_desc), (primitive_desc))
FORWARD(dnnl_status_t, dnnl_runtime_error, dnnl_primitive_desc_query,
        (const_dnnl_primitive_desc_t primitive_desc, dnnl_query_t what, int index, void *result), (primitive_desc, what, index, result))
FORWARD(const dnnl_memory_desc_t *, NULL, dnnl_primitive_desc_query_md,
        (const_dnnl_primitive_desc_t primitive_desc, dnnl_query_t what, int index), (primitive_desc, what, index))
FORWARD(dnnl_status_t, dnnl_runtime_error, dnnl_reorder_primitive_desc_create,
        (dnnl_primitive_desc_t *reorder_primitive_desc, const dnnl_memory_desc_t *src_desc, dnnl_engine_t src_engine,
         const dnnl_memory_desc_t *dst_desc, dnnl_engine_t dst_engine, const_dnnl_primitive_attr_t attr),
        (reorder_primitive_desc, src_desc, src_engine, dst_desc, dst_engine, attr))
FORWARD(dnnl_status_t, dnnl_runtime_error, dnnl_primitive_create,
        (dnnl_primitive_t *primitive, const_dnnl_primitive_desc_t primitive_desc), (primitive, primitive_desc))
FORWARD(dnnl_status_t, dnnl_runtime_error, dnnl_primitive_destroy, (dnnl_primitive_t primitive), (primitive))
FORWARD(dnnl_status_t, dnnl_runtime_error, dnnl_primitive_execute,
        (const_dnnl_primitive_t primitive, dnnl_stream_t stream, int nargs, const dnnl_exec_arg_t *args), (primitive, stream, nargs, args))
FORWARD(dnnl_status_t, dnnl_runtime_error, dnnl_primitive_attr_create, (dnnl_primitive_attr_t *attr), (attr))
FORWARD(dnnl_status_t, dnnl_runtime_error, dnnl_primitive_attr_destroy, (dnnl_primitive_attr_t attr), (attr))
FORWARD(dnnl_status_t, dnnl_runtime_error, dnnl_primitive_attr_set_scratchpad_mode,
        (dnnl_primitive_attr_t attr, dnnl_scratchpad_mode_t mode), (attr, mode))
FORWARD(dnnl_status_t, dnnl_runtime_error, dnnl_primitive_attr_set_post_ops,
        (dnnl_primitive_attr_t attr, const_dnnl_post_ops_t post_ops), (attr, post_ops))
FORWARD(dnnl_status_t, dnnl_runtime_error, dnnl_post_ops_create, (dnnl_post_ops_t *post_ops), (post_ops))
FORWARD(dnnl_status_t, dnnl_runtime_error, dnnl_post_ops_destroy, (dnnl_post_ops_t post_ops), (post_ops))
FORWARD(dnnl_status_t, dnnl_runtime_error, dnnl_post_ops_append_sum, (dnnl_post_ops_t post_ops, float scale), (post_ops, scale))
