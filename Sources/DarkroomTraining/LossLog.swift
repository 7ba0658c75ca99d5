import Foundation

/// `loss.csv` (epoch,step,loss per line), kept consistent with the checkpoint when a run resumes.
struct LossLog {
    let path: String
    private(set) var rows: [(epoch: Int, step: Int, loss: Double)] = []
    private let handle: FileHandle

    /// Opens the log, dropping rows past the first `keepingSteps` steps (work after the last checkpoint is redone).
    init(path: String, keepingSteps: Int) throws {
        self.path = path
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            for line in text.split(separator: "\n").dropFirst() {
                let f = line.split(separator: ",")
                if f.count == 3, let e = Int(f[0]), let s = Int(f[1]), let l = Double(f[2]) { rows.append((e, s, l)) }
            }
        }
        rows = Array(rows.prefix(keepingSteps))
        var text = "epoch,step,loss\n"
        for r in rows { text += "\(r.epoch),\(r.step),\(r.loss)\n" }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        handle.seekToEndOfFile()
    }

    mutating func append(epoch: Int, step: Int, loss: Double) throws {
        rows.append((epoch, step, loss))
        handle.write("\(epoch),\(step),\(loss)\n".data(using: .utf8)!)
    }

    func sumOfEpoch(_ epoch: Int) -> Double { rows.filter { $0.epoch == epoch }.reduce(0) { $0 + $1.loss } }
}
