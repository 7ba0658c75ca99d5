// DarkroomImaging: PNG and GIF files, resizing, contact sheets and labels for the tensors Darkroom works on.
import Foundation

/// Errors reading or writing images; each names the file.
public enum ImageError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case tooLarge(path: String, width: Int, height: Int, limit: Int)
    case unwritable(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "\(path): cannot read image: \(reason)"
        case .tooLarge(let path, let w, let h, let limit):
            return "\(path): \(w)x\(h) pixels is over the \(limit)-pixel limit (refused before decoding)"
        case .unwritable(let path, let reason): return "\(path): cannot write: \(reason)"
        }
    }
}
