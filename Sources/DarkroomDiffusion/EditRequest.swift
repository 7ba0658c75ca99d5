/// The edit modes of the course, by the names sidecars use.
public enum EditMode: String, CaseIterable, Sendable, Codable {
    case noise, denoise, generate, sdedit, inpaint, anagram, hybrid
}

/// A fully resolved edit: every parameter has its value (defaults filled in, seed chosen).
public struct EditRequest: Sendable, Codable, Equatable {
    public var mode: EditMode
    public var prompt: String = ""
    /// Two prompts, for anagram and hybrid.
    public var prompts: [String] = []
    /// SDEdit starting points: indices into the strided timesteps (larger = closer to the original).
    public var noiseLevels: [Int] = []
    /// SDEdit as a fraction of the schedule to run (diffusers' img2img strength), as the sidecar gave it. For ε models
    /// intake turns it into `noiseLevels` through the schedule; flow models use it directly.
    public var strength: Double?
    /// Timesteps for `noise` and `denoise`.
    public var t: [Int] = []
    public var guidance: Float = 5
    /// Distance between strided timesteps (ε models).
    public var stride: Int = 1
    /// The sidecar's `steps`: for ε models the stride was derived from it; flow models take this many Euler steps
    /// (default 50).
    public var steps: Int?
    public var seed: UInt64 = 0
    public var count: Int = 1
    public var view: ImageView = .flip
    public var weight: Float = 0.5
    /// Gaussian kernel of `denoise`'s blur baseline and of hybrid's low/high-pass split.
    public var blurKernel: Int = 5
    public var blurSigma: Float = 2
    public var hybridKernel: Int = 33
    public var hybridSigma: Float = 2
    /// Save a progress frame every this many steps (0: choose so a run gives about 40 frames).
    public var frameEvery: Int = 0
    /// What intake noticed about how the inputs will be read (a prompt longer than the text encoder takes); shown
    /// on the job's page. Nil when there is nothing to say.
    public var notes: [String]?
    /// Stage II: the results are upscaled with these settings (nil: they stay at the model's size). Optional, so jobs
    /// recorded before it decode.
    public var upscale: UpscaleSettings?

    public init(mode: EditMode) { self.mode = mode }
}

extension ImageView: Codable {}
