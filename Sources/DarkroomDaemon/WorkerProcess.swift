import Foundation
import DarkroomJobs
import DarkroomStore
import DarkroomSupport
import DarkroomTensor

/// `darkroom worker`: a worker only. It needs the database and the model folders; no inbox, no gallery and no shared
/// file system (inputs and results travel through the database). Many may run, on many hosts.
///
/// It waits for work on NOTIFY (PostgreSQL) with polling every `poll_seconds` as the backstop, rescues jobs whose
/// workers' leases expired, and on SIGTERM returns its running job to the queue.
public final class WorkerProcess {
    public let config: DarkroomConfig
    public let store: any JobStore
    public let worker: Worker
    let notifier = SystemdNotifier()

    public init(config: DarkroomConfig, runner: JobRunner? = nil, id: String = WorkerIdentity.process()) throws {
        self.config = config
        store = try openJobStore(config.database)
        (store as? PostgresJobStore)?.onConnectionChange = { DaemonLog.warning($0) }
        let runner = runner ?? JobRunner(config: config, library: ModelLibrary(embeddingCache: StoredPromptEmbeddings(store: store)))
        worker = try Worker(store: store, runner: runner, id: id, config: config)
        worker.stopRequested = { daemonStopRequested != 0 }
        let notifier = self.notifier
        worker.onProgress = { job, progress in notifier.send("STATUS=" + Daemon.statusLine(job, progress)) }
    }

    /// Runs jobs until SIGTERM/SIGINT.
    public func run() throws {
        notifier.send("READY=1")
        DaemonLog.info("worker \(worker.id) on \(store.engine.rawValue) \(store.location); models: \(config.models.keys.sorted().joined(separator: ", "))")
        DaemonLog.info("CPU \(CPUInfo.current.summary); \(BLASKernel.current.summary); \(OneDNN.summary), 3x3 convolutions \(ConvolutionChoice.mode)")
        let heartbeat = Heartbeat(job: worker.liveness)
        if let w = SystemdNotifier.watchdogInterval() { heartbeat.start(interval: w, notifier: notifier) }
        var idleSince: Date?
        while daemonStopRequested == 0 {
            heartbeat.tick()
            do {
                // A job keeps the heartbeat going while it makes progress, however long it runs; a stalled one stops it.
                if try heartbeat.whileBusy(runsJobs: true, { try worker.runNext() }) {
                    idleSince = nil
                    continue
                }
                worker.noteIdle()
                if idleSince == nil {
                    idleSince = Date()
                    notifier.send("STATUS=idle; waiting for jobs")
                }
                // Woken by NOTIFY; in slices, so that SIGTERM is seen within half a second.
                let until = Date().addingTimeInterval(config.pollSeconds)
                while daemonStopRequested == 0, Date() < until {
                    heartbeat.tick()
                    if store.waitForChange(.queued, timeout: min(0.5, until.timeIntervalSinceNow)) { break }
                }
            } catch {
                DaemonLog.error("worker: \(error)")
                Thread.sleep(forTimeInterval: 1)
            }
        }
        heartbeat.stop()
        notifier.send("STOPPING=1")
        DaemonLog.info("worker \(worker.id) stopped")
    }
}
