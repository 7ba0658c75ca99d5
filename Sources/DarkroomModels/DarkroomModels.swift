// DarkroomModels: neural networks on the tensor engine (the small UNet), loaded from safetensors checkpoints.
import DarkroomTensor

/// Errors raised while loading or running a model.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    /// A config.json that cannot be used; names the file and the key.
    case badConfig(path: String, key: String?, reason: String)
    /// A checkpoint whose tensors do not fit the architecture; lists every problem by tensor name.
    case checkpointMismatch(path: String, missing: [String], unexpected: [String], misshaped: [String])
    /// Inputs that do not fit the model.
    case badInput(String)

    public var description: String {
        switch self {
        case .badConfig(let path, let key, let reason):
            return key.map { "\(path): key '\($0)': \(reason)" } ?? "\(path): \(reason)"
        case .checkpointMismatch(let path, let missing, let unexpected, let misshaped):
            var parts: [String] = []
            if !missing.isEmpty { parts.append("missing tensors: \(missing.joined(separator: ", "))") }
            if !unexpected.isEmpty { parts.append("unexpected tensors: \(unexpected.joined(separator: ", "))") }
            if !misshaped.isEmpty { parts.append("wrong shapes: \(misshaped.joined(separator: "; "))") }
            return "\(path) does not fit the architecture: " + parts.joined(separator: "; ")
        case .badInput(let message):
            return message
        }
    }
}

extension ModelError {
    /// At most `limit` characters of a value for a message, so a huge prompt never makes a huge error.
    public static func quote(_ value: String, limit: Int = 60) -> String {
        value.count > limit ? String(value.prefix(limit)) + "…" : value
    }
}
