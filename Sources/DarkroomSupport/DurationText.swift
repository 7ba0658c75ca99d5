import Foundation

/// Durations as people read them, one style everywhere (status, training progress, gallery): "42s", "3m05s",
/// "1h20m"; "?" for a value that is not finite.
public func durationText(_ seconds: Double) -> String {
    guard seconds.isFinite else { return "?" }
    let t = Int(seconds.rounded())
    if t < 60 { return "\(max(t, 0))s" }
    if t < 3600 { return String(format: "%dm%02ds", t / 60, t % 60) }
    return String(format: "%dh%02dm", t / 3600, t % 3600 / 60)
}
