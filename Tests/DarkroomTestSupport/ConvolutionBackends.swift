import DarkroomTensor

/// The convolution backends this machine can run, each forced in turn for a test body: Darkroom's own kernels always,
/// oneDNN's Winograd and direct kernels where oneDNN has them for this CPU. Parity tests run through it so that every
/// path a measurement may choose keeps PyTorch parity.
public enum ConvolutionBackends {
    /// The backends available here, own first.
    public static var available: [ConvolutionChoice.Backend] { ConvolutionChoice.Backend.allCases.filter(ConvolutionChoice.isAvailable) }

    /// Runs `body` once per available backend with that backend forced, then restores the measured choice.
    public static func each(_ body: (ConvolutionChoice.Backend) throws -> Void) rethrows {
        defer { ConvolutionChoice.override = nil; ConvolutionChoice.reset() }
        for backend in available {
            ConvolutionChoice.override = [backend]
            ConvolutionChoice.reset()
            try body(backend)
        }
    }
}
