import Foundation
import DarkroomImaging

/// The images a job takes as input (PNG or JPEG), checked at intake from their bytes, so that a job that is queued
/// can load them.
public enum InputImage {
    /// Decodes `data` completely and returns its size; an error says why it cannot be used (`name` is for messages).
    public static func check(_ data: Data, name: String) throws -> (width: Int, height: Int) {
        let size = try ImageDecoder.check(data, name: name)
        return (size.width, size.height)
    }
}
