import Foundation

/// How far a running job is: written by the worker at most once a second, read by `status`, the gallery and systemd.
public struct JobProgress: Codable, Equatable, Sendable {
    /// What the job is doing: "loading", "sampling" (the small UNet), "stage I" (DeepFloyd IF), "writing".
    public var stage: String
    /// The editor's label for the current pass ("level 3 (t=240)", "sample").
    public var label: String?
    /// Sampler steps done, of `steps` in the whole job.
    public var step: Int
    public var steps: Int
    public var elapsedSeconds: Double
    /// Estimated seconds left (nil until a step has been timed).
    public var etaSeconds: Double?
    /// File name of the latest x̂₀ preview inside the job folder.
    public var preview: String?

    public init(stage: String, label: String? = nil, step: Int, steps: Int, elapsedSeconds: Double, etaSeconds: Double? = nil, preview: String? = nil) {
        self.stage = stage
        self.label = label
        self.step = step
        self.steps = steps
        self.elapsedSeconds = elapsedSeconds
        self.etaSeconds = etaSeconds
        self.preview = preview
    }

    enum CodingKeys: String, CodingKey {
        case stage, label, step, steps, preview
        case elapsedSeconds = "elapsed_seconds", etaSeconds = "eta_seconds"
    }

    /// Done fraction in [0, 1].
    public var fraction: Double { steps > 0 ? min(1, Double(step) / Double(steps)) : 0 }

    /// The stored JSON text.
    public var json: String { (try? JSONEncoder().encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}" }

    /// Reads stored JSON text.
    public init(json: String) throws { self = try JSONDecoder().decode(JobProgress.self, from: Data(json.utf8)) }
}
