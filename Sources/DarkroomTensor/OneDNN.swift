import CDNNL
import Foundation

/// oneDNN (Debian's libdnnl 2.6, the library PyTorch's CPU path runs on): its CPU engine, a stream per calling
/// thread, and its status codes as `TensorError`s.
///
/// oneDNN generates its kernels at run time for the instruction set cpuid reports (`version.isa`), so on every CPU
/// it runs the widest code the CPU has. The library is opened on first use (CDNNL's loader), with OpenMP's idle
/// threads set to sleep rather than spin. Its parallel regions use OpenMP: each call sets how many threads that is
/// from the engine's own setting, one on a shard thread (`isSerialThread`), so oneDNN and the engine's own threads
/// never oversubscribe the cores.
public enum OneDNN {
    /// The CPU engine, or nil when oneDNN could not make one (then every layer keeps Darkroom's own kernels).
    nonisolated(unsafe) static let engine: dnnl_engine_t? = {
        var engine: dnnl_engine_t?
        guard dnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success else { return nil }
        return engine
    }()

    /// True when oneDNN's CPU engine is usable in this process.
    public static var isAvailable: Bool { engine != nil }

    /// The library's version and the instruction set its JIT targets on this CPU, e.g. "oneDNN 2.6.3 (avx512_core)".
    public static var summary: String {
        if let error = darkroom_dnnl_load_error() { return "oneDNN not loaded (\(String(cString: error))): Darkroom's own kernels only" }
        guard let v = dnnl_version() else { return "oneDNN (unknown version)" }
        let isa: String = switch dnnl_get_effective_cpu_isa() {
        case dnnl_cpu_isa_sse41: "sse41"
        case dnnl_cpu_isa_avx: "avx"
        case dnnl_cpu_isa_avx2: "avx2"
        case dnnl_cpu_isa_avx2_vnni: "avx2_vnni"
        case dnnl_cpu_isa_avx512_core: "avx512_core"
        case dnnl_cpu_isa_avx512_core_vnni: "avx512_core_vnni"
        case dnnl_cpu_isa_avx512_core_bf16: "avx512_core_bf16"
        case dnnl_cpu_isa_avx512_core_amx: "avx512_core_amx"
        default: "no JIT"
        }
        return "oneDNN \(v.pointee.major).\(v.pointee.minor).\(v.pointee.patch) (\(isa))"
    }

    private static let streamKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { stream in dnnl_stream_destroy(OpaquePointer(stream)) }
        return key
    }()

    /// This thread's stream on the engine, made on first use and destroyed with the thread.
    static func stream() throws -> dnnl_stream_t {
        if let existing = pthread_getspecific(streamKey) { return OpaquePointer(existing) }
        guard let engine else { throw TensorError.library("oneDNN has no CPU engine in this process") }
        var stream: dnnl_stream_t?
        try check(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue), "creating a stream")
        pthread_setspecific(streamKey, UnsafeRawPointer(stream!))
        return stream!
    }

    /// Sets the environment oneDNN's OpenMP reads when it loads; call it first in `main`, before any thread starts.
    public static func prepareEnvironment() { darkroom_dnnl_prepare_environment() }

    /// The threads a oneDNN call on this thread uses: the engine's count, or one on a shard thread.
    static var threadsHere: Int { isSerialThread ? 1 : Engine.threads }

    /// Sets the threads of the regions oneDNN starts from this thread: the engine's count, or one on a shard thread.
    static func useEngineThreads() {
        darkroom_omp_set_num_threads(Int32(threadsHere))
    }

    /// Throws a `TensorError` naming `what` unless `status` is success.
    static func check(_ status: dnnl_status_t, _ what: @autoclosure () -> String) throws {
        guard status != dnnl_success else { return }
        let name: String = switch status {
        case dnnl_out_of_memory: "out of memory"
        case dnnl_invalid_arguments: "invalid arguments"
        case dnnl_unimplemented: "unimplemented"
        case dnnl_runtime_error: "runtime error"
        default: "status \(status.rawValue)"
        }
        throw TensorError.library("oneDNN: \(what()) failed: \(name)")
    }
}
