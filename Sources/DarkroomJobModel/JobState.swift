/// The life of a job: queued → running → done | failed | cancelled (back to queued after a crash or a clean stop);
/// rejected at intake. `darkroom retry` queues failed and cancelled jobs again.
public enum JobState: String, Codable, CaseIterable, Sendable {
    case queued, running, done, failed, rejected, cancelled

    /// True for the states a job does not leave by itself.
    public var isFinal: Bool { [.done, .failed, .rejected, .cancelled].contains(self) }
}
