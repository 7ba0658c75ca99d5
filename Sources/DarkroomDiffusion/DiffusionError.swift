/// Errors raised by samplers and edits.
public enum DiffusionError: Error, CustomStringConvertible, Equatable {
    /// A request the chosen model or mode cannot run; the message names the parameter.
    case invalidRequest(String)
    /// The progress callback asked to stop.
    case cancelled

    public var description: String {
        switch self {
        case .invalidRequest(let message): return message
        case .cancelled: return "cancelled"
        }
    }
}
