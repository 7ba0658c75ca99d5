/// The edit modes of the course, by the names sidecars use.
public enum EditMode: String, CaseIterable, Sendable, Codable {
    case noise, denoise, generate, sdedit, inpaint, anagram, hybrid

    /// Whether the mode starts from an image.
    public var takesImage: Bool { [.noise, .denoise, .sdedit, .inpaint].contains(self) }

    /// Whether the mode takes a mask beside its image.
    public var takesMask: Bool { self == .inpaint }

    /// Whether the mode takes two prompts (`prompts`) rather than one.
    public var takesTwoPrompts: Bool { [.anagram, .hybrid].contains(self) }
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
    /// Noise levels σ of `denoise` on a single-step denoiser (x + σε, denoised in one pass); nil for diffusion models.
    /// Optional, so jobs recorded before it decode.
    public var sigma: [Double]?
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

/// A transformation of the image plane used by visual anagrams; each has an exact inverse (applied to tensors by
/// DarkroomDiffusion).
public enum ImageView: String, CaseIterable, Sendable, Codable {
    case identity
    /// Upside down (the course's anagram view).
    case flip
    case rotate90
    case rotate180
    case rotate270
    /// x → −x around the middle of a symmetric pixel range (models in [−1, 1] only).
    case negate

    /// The view undoing this one.
    public var inverse: ImageView {
        switch self {
        case .rotate90: return .rotate270
        case .rotate270: return .rotate90
        default: return self
        }
    }
}

/// How a job upscales its results: the sidecar's `upscale_steps`, `upscale_guidance` and `upscale_noise`, resolved.
public struct UpscaleSettings: Codable, Equatable, Sendable {
    /// Sampler steps, "leading" spacing over the 1000 training steps (20: 950, 900, …, 0).
    public var steps: Int
    /// Classifier-free guidance scale on the ε channels.
    public var guidance: Float
    /// How much noise the upscaled small image gets before the loop (0…999), and the class label the model is told.
    public var noiseLevel: Int

    /// The course's 20 steps (the pipeline's default is 50), the pipeline's γ = 4 and noise level 250.
    public static let defaults = UpscaleSettings(steps: 20, guidance: 4, noiseLevel: 250)

    public init(steps: Int, guidance: Float, noiseLevel: Int) {
        self.steps = steps
        self.guidance = guidance
        self.noiseLevel = noiseLevel
    }

    enum CodingKeys: String, CodingKey {
        case steps, guidance
        case noiseLevel = "noise_level"
    }
}
