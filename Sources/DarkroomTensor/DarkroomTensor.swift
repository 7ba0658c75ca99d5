// DarkroomTensor: the Float32 NCHW tensor engine on OpenBLAS, with safetensors I/O.
import CBLAS
import Foundation

/// Process-wide settings of the tensor engine.
public enum Engine {
    nonisolated(unsafe) private static var threadCount: Int = ProcessInfo.processInfo.activeProcessorCount

    /// Number of threads used by elementwise kernels and by OpenBLAS.
    ///
    /// Defaults to the number of active processors. Setting it also sets OpenBLAS's thread count.
    public static var threads: Int {
        get { threadCount }
        set {
            threadCount = max(1, newValue)
            openblas_set_num_threads(Int32(threadCount))
        }
    }
}
