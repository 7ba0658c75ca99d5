import Foundation

/// Which implementation runs each 3×3, stride-1 convolution: Darkroom's own kernel (direct, Winograd or im2col, as
/// the call site has it) or oneDNN's Winograd or direct kernel, whichever a short measurement on this CPU found
/// fastest for that pass and shape.
///
/// The first call of a (pass, shape, threads) times every candidate a few times on the call's own data and keeps
/// the winner for the process; later calls only look it up. Nothing is guessed from the CPU's vendor or model: on a
/// core where oneDNN's Winograd wins it is used, where Darkroom's own kernel wins that is. `DARKROOM_CONV` forces a
/// choice, for benchmarks and tests: `own`, `onednn` (Winograd where oneDNN has it, else direct), `onednn-winograd`,
/// `onednn-direct`, or `auto` (the default).
public enum ConvolutionChoice {
    /// An implementation a layer can run.
    public enum Backend: String, Sendable, CaseIterable {
        case own
        case oneDNNWinograd = "onednn-winograd"
        case oneDNNDirect = "onednn-direct"

        var algorithm: OneDNNConv3x3.Algorithm? {
            switch self {
            case .own: nil
            case .oneDNNWinograd: .winograd
            case .oneDNNDirect: .direct
            }
        }
    }

    /// What a measurement decided for one pass and shape, with the times it took each candidate.
    public struct Decision: Sendable, CustomStringConvertible {
        public let pass: String
        public let shape: String
        /// The threads the measured calls ran on.
        public let threads: Int
        /// Darkroom's own kernel at the call site ("direct", "winograd 4x4", "im2col").
        public let own: String
        public let backend: Backend
        /// oneDNN's kernel name when a oneDNN backend won.
        public let implementation: String?
        /// The best time of each candidate measured, in seconds.
        public let seconds: [Backend: Double]
        let convolution: OneDNNConv3x3?

        public var description: String {
            let times = Backend.allCases.compactMap { b in seconds[b].map { "\(b.rawValue) \(String(format: "%.3f", $0 * 1e3)) ms" } }
            return "\(pass) \(shape)\(threads == 1 ? " (1 thread)" : " (\(threads) threads)"), own \(own): \(backend.rawValue)\(implementation.map { " [\($0)]" } ?? "") — \(times.joined(separator: ", "))"
        }
    }

    private struct Key: Hashable {
        let pass: OneDNNConv3x3.Pass
        let shape: OneDNNConv3x3.Shape
        /// The threads the call runs on (one on a shard thread): oneDNN's primitives keep the count they were made with.
        let threads: Int
        let own: String
        /// The forced backends in effect, so that a forced choice and a measured one are kept apart.
        let wanted: [Backend]?
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var decisions: [Key: Decision] = [:]

    /// The forced backend from `DARKROOM_CONV`, or nil for `auto`.
    static let forced: [Backend]? = {
        switch ProcessInfo.processInfo.environment["DARKROOM_CONV"]?.lowercased() {
        case "own": [.own]
        case "onednn": [.oneDNNWinograd, .oneDNNDirect]
        case "onednn-winograd": [.oneDNNWinograd]
        case "onednn-direct": [.oneDNNDirect]
        default: nil
        }
    }()

    /// "auto", or the backends `DARKROOM_CONV` forces, for reports.
    public static var mode: String {
        guard let wanted = override ?? forced else { return "auto (measured per shape)" }
        return "forced: " + wanted.map(\.rawValue).joined(separator: ", then ")
    }

    /// Overrides `DARKROOM_CONV` for tests: candidates in order of preference, the first available wins; nil measures.
    nonisolated(unsafe) public static var override: [Backend]?

    /// Every decision taken in this process so far, for benchmarks and logs.
    public static var taken: [Decision] {
        lock.lock(); defer { lock.unlock() }
        return decisions.values.sorted { ($0.pass, $0.shape) < ($1.pass, $1.shape) }
    }

    /// Whether `backend` can run here: Darkroom's own kernels always; oneDNN's where it has a kernel of that algorithm
    /// for this CPU (its Winograd needs AVX-512).
    public static func isAvailable(_ backend: Backend) -> Bool {
        guard let algorithm = backend.algorithm else { return true }
        let probe = OneDNNConv3x3.Shape(batch: 1, inputs: 16, outputs: 16, height: 8, width: 8, bias: true)
        return OneDNN.isAvailable && ((try? OneDNNConv3x3(pass: .forward, algorithm: algorithm, shape: probe)) ?? nil) != nil
    }

    /// Forgets every decision (tests and benchmarks that change `override`).
    public static func reset() {
        lock.lock(); defer { lock.unlock() }
        decisions = [:]
    }

    /// The oneDNN convolution to run `pass` of `shape` with, or nil for Darkroom's own kernel.
    ///
    /// On the first call for a key, `trial(nil)` runs the own kernel and `trial(conv)` a oneDNN candidate; each runs
    /// three times and the best of the last two counts. Trials must leave the caller's result untouched (a weight
    /// gradient's trial adds into a scratch buffer, not into the gradient).
    static func convolution(for pass: OneDNNConv3x3.Pass, shape: OneDNNConv3x3.Shape, own: String,
                            trial: (OneDNNConv3x3?) throws -> Void) throws -> OneDNNConv3x3? {
        let key = Key(pass: pass, shape: shape, threads: OneDNN.threadsHere, own: own, wanted: override ?? forced)
        lock.lock()
        let known = decisions[key]
        lock.unlock()
        if let known { return known.convolution }
        let decision = try decide(key, trial: trial)
        lock.lock()
        decisions[key] = decision
        lock.unlock()
        return decision.convolution
    }

    private static func decide(_ key: Key, trial: (OneDNNConv3x3?) throws -> Void) throws -> Decision {
        let wanted = key.wanted
        var candidates: [(Backend, OneDNNConv3x3?)] = []
        for backend in wanted ?? Backend.allCases {
            guard let algorithm = backend.algorithm else { candidates.append((.own, nil)); continue }
            // A primitive oneDNN cannot make (no kernel for this CPU or shape, a failed JIT, no memory) is no candidate.
            if OneDNN.isAvailable, let conv = (try? OneDNNConv3x3(pass: key.pass, algorithm: algorithm, shape: key.shape)) ?? nil {
                candidates.append((backend, conv))
            }
        }
        if candidates.isEmpty { candidates = [(.own, nil)] }
        if let wanted, wanted.count > 0 {
            // Forced: the first available in the order given, unmeasured.
            let (backend, conv) = candidates[0]
            return Decision(pass: key.pass.rawValue, shape: key.shape.description, threads: key.threads, own: key.own, backend: backend,
                            implementation: conv?.implementation, seconds: [:], convolution: conv)
        }
        var seconds: [Backend: Double] = [:]
        for (backend, conv) in candidates {
            var best = Double.infinity
            for round in 0..<3 {
                let start = DispatchTime.now().uptimeNanoseconds
                try trial(conv)
                let took = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                if round > 0 { best = min(best, took) }
            }
            seconds[backend] = best
        }
        let (backend, conv) = candidates.min { seconds[$0.0]! < seconds[$1.0]! }!
        return Decision(pass: key.pass.rawValue, shape: key.shape.description, threads: key.threads, own: key.own, backend: backend,
                        implementation: conv?.implementation, seconds: seconds, convolution: conv)
    }
}
