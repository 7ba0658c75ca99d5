/// Errors raised by the engine when inputs do not fit an operation or a file is unreadable.
public enum TensorError: Error, CustomStringConvertible, Equatable {
    /// Shapes that an operation cannot combine.
    case shapeMismatch(String)
    /// A safetensors file that cannot be read; names the file and, when known, the tensor.
    case malformedFile(path: String, tensor: String?, reason: String)
    /// A tensor that a file or checkpoint does not contain.
    case missingTensor(path: String, name: String)
    /// A library the engine calls (oneDNN) refused or failed an operation; says which and why.
    case library(String)

    public var description: String {
        switch self {
        case .shapeMismatch(let message):
            return "shape mismatch: \(message)"
        case .malformedFile(let path, let tensor, let reason):
            if let tensor { return "\(path): tensor '\(tensor)': \(reason)" }
            return "\(path): \(reason)"
        case .missingTensor(let path, let name):
            return "\(path): no tensor named '\(name)'"
        case .library(let message):
            return message
        }
    }
}
