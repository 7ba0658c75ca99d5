import Foundation
import XCTest
import DarkroomSupport
import DarkroomTestSupport
import DarkroomJobModel

/// The real `darkroom` on other CPUs and with OpenBLAS's kernels chosen for it: on a CPU without AVX2/FMA it stops
/// with a message naming what is missing, on one without AVX-512 it runs without the AVX-512 kernels (chosen by
/// cpuid, so an emulator's CPU model counts, not the host's /proc/cpuinfo), and OpenBLAS runs the widest kernels
/// the CPU allows unless the user chose some.
final class CPUProcessTests: DaemonTestCase {
    /// Runs the darkroom binary (under `qemu-x86_64 -cpu MODEL` when given) with `environment` added and
    /// OPENBLAS_CORETYPE removed unless given; returns (status, stdout, stderr), killing it after `seconds`.
    func runDarkroom(_ arguments: [String], qemuCPU: String? = nil, environment: [String: String] = [:],
                     withoutExecutableMemory: Bool = false, seconds: Double = 300) throws -> (Int32, String, String) {
        let p = Process()
        var env = ProcessInfo.processInfo.environment
        env["OPENBLAS_CORETYPE"] = nil
        env["DARKROOM_OPENBLAS_OWN_CHOICE"] = nil
        env.merge(environment) { $1 }
        p.environment = env
        if let qemuCPU {
            p.executableURL = URL(fileURLWithPath: try Self.qemu())
            p.arguments = ["-cpu", qemuCPU, binary] + arguments
        } else if withoutExecutableMemory {
            // What systemd's MemoryDenyWriteExecute=yes does, by prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN), which
            // execve keeps; exit 99 when the kernel is older than 6.3 and has no such call.
            p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            p.arguments = ["-c", "import ctypes, os, sys\nif ctypes.CDLL(None).prctl(65, 1, 0, 0, 0) != 0: sys.exit(99)\nos.execv(sys.argv[1], sys.argv[1:])",
                           binary] + arguments
        } else {
            p.executableURL = URL(fileURLWithPath: binary)
            p.arguments = arguments
        }
        let dir = try temporaryFolder(self)
        let out = dir.appendingPathComponent("stdout"), err = dir.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        try p.run()
        let deadline = Date().addingTimeInterval(seconds)
        while p.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            p.waitForExit()
            XCTFail("darkroom \(arguments.joined(separator: " ")) took longer than \(seconds) s")
        }
        p.waitForExit()
        return (p.terminationStatus, try String(contentsOf: out, encoding: .utf8), try String(contentsOf: err, encoding: .utf8))
    }

    static func qemu() throws -> String {
        for dir in ["/usr/bin", "/usr/local/bin"] where FileManager.default.isExecutableFile(atPath: dir + "/qemu-x86_64") {
            return dir + "/qemu-x86_64"
        }
        throw XCTSkip("qemu-x86_64 is not installed (Debian's qemu-user; scripts/setup.sh installs it)")
    }

    func oneDNN(_ stdout: String) throws -> [String: Any] {
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any], stdout)
        return try XCTUnwrap((object["machine"] as? [String: Any])?["onednn"] as? [String: Any], stdout)
    }

    func machine(_ stdout: String) throws -> (cpu: [String: Any], blas: [String: Any]) {
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any], stdout)
        let machine = try XCTUnwrap(object["machine"] as? [String: Any])
        return (try XCTUnwrap(machine["cpu"] as? [String: Any]), try XCTUnwrap(machine["blas"] as? [String: Any]))
    }

    func testOpenBLASRunsTheWidestKernelsTheFeaturesAllowWhenNobodyChose() throws {
        let (status, stdout, stderr) = try runDarkroom(["bench", "--machine", "--json", "--threads", "1"])
        XCTAssertEqual(status, 0, stderr)
        let (cpu, blas) = try machine(stdout)
        XCTAssertEqual(cpu["model"] as? Int, CPUInfo.current.model)
        let core = try XCTUnwrap(blas["core"] as? String)
        let widest = OpenBLASCoreType.widest(for: CPUInfo.current).map(OpenBLASCoreType.vectorLevel(of:)) ?? 0
        XCTAssertGreaterThanOrEqual(OpenBLASCoreType.vectorLevel(of: core), widest, "kernel \(core) on \(CPUInfo.current.summary)")
        if blas["chosen_by"] as? String == "darkroom" {
            let own = try XCTUnwrap(blas["openblas_own_choice"] as? String)
            XCTAssertLessThan(OpenBLASCoreType.vectorLevel(of: own), OpenBLASCoreType.vectorLevel(of: core), "replaced only a narrower choice")
        } else {
            XCTAssertEqual(blas["chosen_by"] as? String, "openblas")
        }
        XCTAssertGreaterThan(try XCTUnwrap(blas["sgemm_peak_gflops"] as? Double), 0)
    }

    func testAUsersOwnCoreTypeIsRespected() throws {
        let (status, stdout, stderr) = try runDarkroom(["bench", "--machine", "--json", "--threads", "1"], environment: ["OPENBLAS_CORETYPE": "Prescott"])
        XCTAssertEqual(status, 0, stderr)
        let (_, blas) = try machine(stdout)
        XCTAssertEqual(blas["core"] as? String, "Prescott")
        XCTAssertEqual(blas["chosen_by"] as? String, "environment")
    }

    /// A generate job on the workspace's tiny model, three steps.
    func generateJob() throws -> (sidecar: URL, config: URL, out: URL) {
        let dir = try workspace(stride: 100)
        let sidecar = dir.appendingPathComponent("job.json")
        try #"{"prompt": "a cat", "count": 1, "seed": 1}"#.write(to: sidecar, atomically: true, encoding: .utf8)
        return (sidecar, dir.appendingPathComponent("config.json"), dir.appendingPathComponent("out"))
    }

    func testACPUWithoutAVX2StopsEveryCommandWithAMessageNamingWhatIsMissing() throws {
        let job = try generateJob()
        let (status, stdout, stderr) = try runDarkroom(["run", job.sidecar.path, "--config", job.config.path, "--out", job.out.path], qemuCPU: "Nehalem")
        XCTAssertEqual(status, 78, "exit status (EX_CONFIG); stderr: \(stderr)")
        for feature in ["AVX2", "FMA", "F16C"] { XCTAssertTrue(stderr.contains(feature), "names \(feature): \(stderr)") }
        XCTAssertTrue(stderr.contains("Nothing was run"), stderr)
        XCTAssertEqual(stdout, "")
        XCTAssertFalse(FileManager.default.fileExists(atPath: job.out.path), "no job folder was made")
    }

    func testACPUWithoutAVX512RunsAJobOnTheOtherKernels() throws {
        let job = try generateJob()
        let (status, stdout, stderr) = try runDarkroom(["run", job.sidecar.path, "--config", job.config.path, "--out", job.out.path, "--threads", "2"],
                                                       qemuCPU: "Haswell")
        XCTAssertEqual(status, 0, stderr)
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any], stdout)
        XCTAssertEqual(summary["status"] as? String, "done", stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: job.out.appendingPathComponent("result.png").path), stdout)
        // The emulated CPU's features, not the host's.
        let (mstatus, mout, merr) = try runDarkroom(["bench", "--machine", "--skip-kernels", "--json"], qemuCPU: "Haswell")
        XCTAssertEqual(mstatus, 0, merr)
        let (cpu, blas) = try machine(mout)
        let features = try XCTUnwrap(cpu["features"] as? [String])
        XCTAssertTrue(features.contains("avx2") && features.contains("fma"), "\(features)")
        XCTAssertFalse(features.contains("avx512f"), "\(features)")
        XCTAssertEqual(OpenBLASCoreType.vectorLevel(of: try XCTUnwrap(blas["core"] as? String)), 2, "\(blas)")
    }

    func testWhereMemoryMayNotBecomeExecutableOneDNNStaysUnloadedAndAJobRunsOnTheOwnKernels() throws {
        let (status, stdout, stderr) = try runDarkroom(["bench", "--machine", "--skip-kernels", "--json"])
        XCTAssertEqual(status, 0, stderr)
        let loaded = try oneDNN(stdout)
        XCTAssertEqual(loaded["available"] as? Bool, true, "oneDNN loads in a plain process: \(loaded)")
        XCTAssertTrue((loaded["library"] as? String)?.hasPrefix("oneDNN 2.") == true, "\(loaded)")

        let (mstatus, mout, merr) = try runDarkroom(["bench", "--machine", "--skip-kernels", "--json"], withoutExecutableMemory: true)
        if mstatus == 99 { throw XCTSkip("this kernel has no PR_SET_MDWE (Linux 6.3 and later)") }
        XCTAssertEqual(mstatus, 0, merr)
        let refused = try oneDNN(mout)
        XCTAssertEqual(refused["available"] as? Bool, false, "\(refused)")
        XCTAssertTrue((refused["library"] as? String)?.contains("MemoryDenyWriteExecute") == true, "says why: \(refused)")

        let job = try generateJob()
        let (jstatus, jout, jerr) = try runDarkroom(["run", job.sidecar.path, "--config", job.config.path, "--out", job.out.path],
                                                    withoutExecutableMemory: true)
        XCTAssertEqual(jstatus, 0, jerr)
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(jout.utf8)) as? [String: Any], jout)
        XCTAssertEqual(summary["status"] as? String, "done", jout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: job.out.appendingPathComponent("result.png").path), jout)
    }
}
