import Foundation
import DarkroomDiffusion
import DarkroomSupport
import DarkroomTensor
import DarkroomJobModel

/// How the worker follows a running job and stops it.
public struct JobMonitor {
    /// Called with the job's progress at most once per `interval` seconds, and at each stage change.
    public var report: (JobProgress) -> Void
    /// Asked at most every `pollInterval` seconds during sampling: true stops the job at that step.
    public var shouldStop: () -> Bool
    public var interval: Double
    public var pollInterval: Double
    /// Lines worth a log entry while the job runs (encoding a prompt); nil: none are wanted.
    public var note: ((String) -> Void)?
    /// Called at every sign of life, with where the job is ("stage I step 9/30"): each sampler step, each encoded T5
    /// block, the start of loading and writing. Cheap, and never rate-limited: the worker's watchdog follows it.
    public var pulse: ((String) -> Void)?

    public init(interval: Double = 1, pollInterval: Double = 0.25, report: @escaping (JobProgress) -> Void, shouldStop: @escaping () -> Bool,
                note: ((String) -> Void)? = nil) {
        self.report = report
        self.shouldStop = shouldStop
        self.note = note
        self.interval = interval
        self.pollInterval = pollInterval
    }
}

/// A job stopped at a step (cancelled, or the daemon stopping); `outputs` are the files it kept (the GIF so far and
/// the last preview).
public struct JobInterrupted: Error, CustomStringConvertible {
    public var outputs: [JobResult]
    public var description: String { "stopped at a step" }
}

/// Counts a job's sampler steps across all its passes (stage II's included), times them for an ETA, writes the x̂₀
/// preview and keeps the frames a stopped job's GIF is made of.
///
/// The ETA uses the current stage's pace: stage II's steps cost far more than stage I's, so until stage II has run a
/// step the ETA counts its steps at stage I's pace. Frames are kept for stage I only: a job stopped during stage II
/// keeps stage I's GIF.
final class StepTracker {
    let started = Date()
    let steps: Int
    /// The model's sampling stage ("stage I"); "stage II" while an upscale runs.
    private(set) var stage: String
    private var stageStarted = Date()
    private var doneBeforeStage = 0
    let editor: Editor
    let writer: ResultWriter
    let monitor: JobMonitor?
    let progress: ((StepInfo, String) -> Bool)?
    private var done = 0
    private var label: String?
    private var lastReport = Date.distantPast
    private var lastPoll = Date()
    private var frames: [(xt: Tensor, x0: Tensor)] = []
    private let frameEvery: Int
    private var previewWritten = false

    init(editor: Editor, request: EditRequest, writer: ResultWriter, monitor: JobMonitor?, progress: ((StepInfo, String) -> Bool)?) {
        self.editor = editor
        self.steps = editor.plannedSteps(request) + (request.upscale.map { $0.steps * editor.plannedResults(request) } ?? 0)
        self.stage = editor.denoiser.stageName
        self.writer = writer
        self.monitor = monitor
        self.progress = progress
        frameEvery = request.frameEvery > 0 ? request.frameEvery : max(1, steps / 40)
    }

    /// The progress so far, in `stage` (default: this model's sampling stage).
    func progress(stage: String? = nil) -> JobProgress {
        let elapsed = Date().timeIntervalSince(started)
        let inStage = done - doneBeforeStage
        let eta = inStage > 0 && steps >= done ? Date().timeIntervalSince(stageStarted) / Double(inStage) * Double(steps - done) : nil
        return JobProgress(stage: stage ?? self.stage, label: label, step: done, steps: steps, elapsedSeconds: elapsed,
                           etaSeconds: eta, preview: previewWritten ? JobFiles.preview : nil)
    }

    /// The editor's per-step callback: false stops the run at this step.
    /// A new stage (stage II) starts: its steps are timed from now, and it is what progress reports show.
    func begin(stage name: String) {
        stage = name
        stageStarted = Date()
        doneBeforeStage = done
        monitor?.report(progress())
    }

    func step(_ info: StepInfo, _ label: String) -> Bool {
        done += 1
        self.label = label
        guard let monitor else { return progress?(info, label) ?? true }
        monitor.pulse?("\(stage) step \(done)/\(steps)")
        TestHooks.step(done)
        if done % frameEvery == 0, stage == editor.denoiser.stageName { frames.append((editor.toPixels(info.xt), editor.toPixels(info.x0))) }
        let now = Date()
        if now.timeIntervalSince(lastReport) >= monitor.interval || done == steps {
            lastReport = now
            if (try? writer.writePreview(editor.toPixels(info.x0))) != nil { previewWritten = true }
            monitor.report(progress())
        }
        if let progress, !progress(info, label) { return false }
        if now.timeIntervalSince(lastPoll) >= monitor.pollInterval {
            lastPoll = now
            if monitor.shouldStop() { return false }
        }
        return true
    }

    /// After a stop: writes the GIF of the frames so far; returns what the job keeps.
    func keepWhatWasMade() throws -> [JobResult] {
        var kept: [JobResult] = []
        if let gif = try writer.writeGIF(frames) { kept.append(JobResult(kind: .gif, path: gif)) }
        return kept
    }
}
