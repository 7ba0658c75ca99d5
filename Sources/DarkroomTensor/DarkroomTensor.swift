// DarkroomTensor: the Float32 NCHW tensor engine on OpenBLAS, with safetensors I/O.
import CBLAS
import Foundation

/// Process-wide settings of the tensor engine.
public enum Engine {
    // nonisolated(unsafe): set once by the command line before any work starts, read afterwards.
    nonisolated(unsafe) private static var threadCount: Int = ProcessInfo.processInfo.activeProcessorCount

    /// Number of threads the engine splits GEMMs, elementwise passes and batches across.
    ///
    /// Defaults to the number of active processors. OpenBLAS itself always runs single-threaded (see `sgemm`).
    public static var threads: Int {
        get { threadCount }
        set { threadCount = max(1, newValue) }
    }
}
