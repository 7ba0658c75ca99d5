// DarkroomJobModel: what a job is, as plain values every layer shares (the edit request, the job and its state,
// files, progress, timings, claims, the folder layout), with no engine, image or database code behind it.
import Foundation
