import Foundation
import DarkroomTensor

/// A small line chart rendered to an RGB image: the training loss curve.
public enum LinePlot {
    /// Plots `values` (e.g. loss per step) on a log scale with a moving average, axes and min/max labels.
    public static func render(_ values: [Double], title: String, width: Int = 640, height: Int = 320, smoothing: Int = 25) -> Tensor {
        let image = Tensor(repeating: 0.08, shape: [1, 3, height, width])
        let (left, right, top, bottom) = (60, 16, 24, 28)
        let plotW = width - left - right, plotH = height - top - bottom
        BitmapFont.draw(title, into: image, x: left, y: 8, value: 0.9)
        let finite = values.filter { $0.isFinite && $0 > 0 }
        guard finite.count >= 2 else { return image }
        let logs = finite.map(log10)
        let (lo, hi) = (logs.min()!, max(logs.max()!, logs.min()! + 1e-6))
        func point(_ i: Int, _ v: Double) -> (Int, Int) {
            (left + i * (plotW - 1) / max(finite.count - 1, 1), top + Int(Double(plotH - 1) * (hi - v) / (hi - lo)))
        }
        for x in left..<(left + plotW) { set(image, x, top + plotH, (0.6, 0.6, 0.6)) }
        for y in top..<(top + plotH) { set(image, left - 1, y, (0.6, 0.6, 0.6)) }
        BitmapFont.draw(String(format: "%.3g", pow(10, hi)), into: image, x: 2, y: top, value: 0.8)
        BitmapFont.draw(String(format: "%.3g", pow(10, lo)), into: image, x: 2, y: top + plotH - 7, value: 0.8)
        BitmapFont.draw("step \(finite.count)", into: image, x: left + plotW - BitmapFont.width("step \(finite.count)"), y: top + plotH + 8, value: 0.8)
        drawLine(image, logs.enumerated().map { point($0.offset, $0.element) }, (0.35, 0.45, 0.7))
        var smooth: [Double] = []
        var sum = 0.0
        for (i, v) in logs.enumerated() {
            sum += v
            if i >= smoothing { sum -= logs[i - smoothing] }
            smooth.append(sum / Double(min(i + 1, smoothing)))
        }
        drawLine(image, smooth.enumerated().map { point($0.offset, $0.element) }, (1.0, 0.75, 0.3))
        return image
    }

    /// Plots `points` (x, y) on linear axes, joined and marked, with the x and y ranges labelled: a figure such as
    /// test loss against noise level.
    public static func render(points: [(x: Double, y: Double)], title: String, xLabel: String,
                              width: Int = 640, height: Int = 320) -> Tensor {
        let image = Tensor(repeating: 0.08, shape: [1, 3, height, width])
        let (left, right, top, bottom) = (60, 16, 24, 28)
        let plotW = width - left - right, plotH = height - top - bottom
        BitmapFont.draw(title, into: image, x: left, y: 8, value: 0.9)
        let finite = points.filter { $0.x.isFinite && $0.y.isFinite }
        guard finite.count >= 2 else { return image }
        let (x0, x1) = (finite.map(\.x).min()!, max(finite.map(\.x).max()!, finite.map(\.x).min()! + 1e-9))
        let (y0, y1) = (min(0, finite.map(\.y).min()!), max(finite.map(\.y).max()!, 1e-9))
        func pixel(_ p: (x: Double, y: Double)) -> (Int, Int) {
            (left + Int(Double(plotW - 1) * (p.x - x0) / (x1 - x0)), top + Int(Double(plotH - 1) * (y1 - p.y) / (y1 - y0)))
        }
        for x in left..<(left + plotW) { set(image, x, top + plotH, (0.6, 0.6, 0.6)) }
        for y in top..<(top + plotH) { set(image, left - 1, y, (0.6, 0.6, 0.6)) }
        BitmapFont.draw(String(format: "%.3g", y1), into: image, x: 2, y: top, value: 0.8)
        BitmapFont.draw(String(format: "%.3g", y0), into: image, x: 2, y: top + plotH - 7, value: 0.8)
        BitmapFont.draw(String(format: "%.3g", x0), into: image, x: left, y: top + plotH + 8, value: 0.8)
        let last = String(format: "%.3g", x1)
        BitmapFont.draw(last, into: image, x: left + plotW - BitmapFont.width(last), y: top + plotH + 8, value: 0.8)
        BitmapFont.draw(xLabel, into: image, x: left + (plotW - BitmapFont.width(xLabel)) / 2, y: top + plotH + 8, value: 0.8)
        let pixels = finite.map(pixel)
        drawLine(image, pixels, (1.0, 0.75, 0.3))
        for (px, py) in pixels {
            for dy in -2...2 { for dx in -2...2 { set(image, px + dx, py + dy, (1.0, 0.9, 0.6)) } }
        }
        return image
    }

    static func set(_ image: Tensor, _ x: Int, _ y: Int, _ color: (Float, Float, Float)) {
        let (h, w) = (image.shape[2], image.shape[3])
        guard x >= 0, x < w, y >= 0, y < h else { return }
        image.pointer[y * w + x] = color.0
        image.pointer[h * w + y * w + x] = color.1
        image.pointer[2 * h * w + y * w + x] = color.2
    }

    static func drawLine(_ image: Tensor, _ points: [(Int, Int)], _ color: (Float, Float, Float)) {
        for (a, b) in zip(points, points.dropFirst()) {
            let steps = max(abs(b.0 - a.0), abs(b.1 - a.1), 1)
            for s in 0...steps {
                set(image, a.0 + (b.0 - a.0) * s / steps, a.1 + (b.1 - a.1) * s / steps, color)
            }
        }
    }
}
