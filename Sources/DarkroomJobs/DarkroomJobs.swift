// DarkroomJobs: the job contract (sidecar JSON, config.json) and running one job from files to result files.
import Foundation
