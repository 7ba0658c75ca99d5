// DarkroomJobs: the job contract (sidecar JSON, config.json) and running one job from files to result files.
import Foundation

/// A problem with a job's input, naming the field at fault; the job is rejected, nothing is lost.
public struct JobError: Error, CustomStringConvertible, Equatable {
    /// The sidecar or config field at fault (nil when the whole file is).
    public let field: String?
    public let message: String

    public init(field: String?, _ message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { field.map { "\($0): \(message)" } ?? message }
}
