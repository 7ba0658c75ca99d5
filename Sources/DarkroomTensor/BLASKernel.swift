import CBLAS
import DarkroomSupport
import Foundation

/// OpenBLAS's kernel set ("core type") in this process, and who chose it.
///
/// OpenBLAS reads `OPENBLAS_CORETYPE` only while it loads, before any of Darkroom's code runs, so
/// `selectAtStartup` sets it and executes the same program again (same PID, arguments and environment otherwise)
/// when OpenBLAS's own choice is narrower than the CPU's features allow (`OpenBLASCoreType.replacement`).
public struct BLASKernel: Sendable, Equatable {
    /// Who chose the core type.
    public enum Chooser: String, Sendable {
        /// OpenBLAS's own table, which Darkroom found as wide as the features allow.
        case openBLAS = "openblas"
        /// Darkroom, by the CPU's features, replacing OpenBLAS's narrower choice.
        case darkroom
        /// The user's own `OPENBLAS_CORETYPE`, respected as it is.
        case environment
    }

    /// `openblas_get_corename()`, e.g. "SkylakeX" or "Prescott".
    public let core: String
    /// `openblas_get_config()`, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY SkylakeX MAX_THREADS=64".
    public let config: String
    public let chooser: Chooser
    /// OpenBLAS's own choice, when Darkroom replaced it.
    public let openBLASChoice: String?

    /// The variable that carries OpenBLAS's own choice across the re-execution, for reports.
    static let choiceVariable = "DARKROOM_OPENBLAS_OWN_CHOICE"

    /// This process's kernel set.
    public static var current: BLASKernel {
        let core = String(cString: openblas_get_corename())
        let config = String(cString: openblas_get_config()).trimmingCharacters(in: .whitespaces)
        let environment = ProcessInfo.processInfo.environment
        if let own = environment[choiceVariable], let requested = environment["OPENBLAS_CORETYPE"],
           OpenBLASCoreType.vectorLevel(of: core) >= OpenBLASCoreType.vectorLevel(of: requested) {
            return BLASKernel(core: core, config: config, chooser: .darkroom, openBLASChoice: own)
        }
        let chooser: Chooser = environment["OPENBLAS_CORETYPE"] == nil ? .openBLAS : .environment
        return BLASKernel(core: core, config: config, chooser: chooser, openBLASChoice: nil)
    }

    /// One line for logs and benchmark headers.
    public var summary: String {
        switch chooser {
        case .openBLAS: "OpenBLAS \(core) (its own choice)"
        case .environment: "OpenBLAS \(core) (OPENBLAS_CORETYPE from the environment)"
        case .darkroom: "OpenBLAS \(core) (chosen by Darkroom from the CPU's features; OpenBLAS's own choice was \(openBLASChoice ?? "?"))"
        }
    }

    /// Makes this process run the widest OpenBLAS kernels its CPU allows: when OpenBLAS chose a narrower set and the
    /// user set no `OPENBLAS_CORETYPE`, sets it and executes `/proc/self/exe` again with the same arguments. Returns
    /// (only) when nothing needs changing or the re-execution failed (then with a warning on stderr). Call it first
    /// in `main`, before Darkroom opens a file or starts a thread (OpenBLAS's own pool ends with the exec). Under an
    /// emulator (qemu-user) the new process would leave the emulation; the CPU models such emulators offer are ones
    /// OpenBLAS knows, so it is not re-run there in practice, and setting OPENBLAS_CORETYPE yourself rules it out.
    public static func selectAtStartup() {
        let environment = ProcessInfo.processInfo.environment
        guard environment["OPENBLAS_CORETYPE"] == nil else { return }
        // Only a DYNAMIC_ARCH build reads OPENBLAS_CORETYPE; re-running any other would change nothing.
        guard String(cString: openblas_get_config()).contains("DYNAMIC_ARCH") else { return }
        let own = String(cString: openblas_get_corename())
        guard let wanted = OpenBLASCoreType.replacement(for: CPUInfo.current, openBLASChose: own) else { return }
        setenv("OPENBLAS_CORETYPE", wanted, 1)
        setenv(choiceVariable, own, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        let reason = String(cString: strerror(errno))
        unsetenv("OPENBLAS_CORETYPE")
        unsetenv(choiceVariable)
        FileHandle.standardError.write(Data("darkroom: warning: could not re-run with OPENBLAS_CORETYPE=\(wanted) (\(reason)); OpenBLAS keeps its \(own) kernels\n".utf8))
    }
}
