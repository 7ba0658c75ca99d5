import DarkroomTensor

/// Lays images out in rows on a dark background (contact strips, comparisons, sample grids).
public enum ImageGrid {
    /// Tiles `rows` of [1,C,H,W] images (all the same size) into one [1,C,H',W'] image with `gap` pixels between.
    public static func compose(_ rows: [[Tensor]], gap: Int = 2, background: Float = 0.15) -> Tensor {
        guard let first = rows.first?.first else { return Tensor(zeros: [1, 1, 1, 1]) }
        let (c, h, w) = (first.shape[1], first.shape[2], first.shape[3])
        let columns = rows.map(\.count).max() ?? 1
        let height = rows.count * h + (rows.count + 1) * gap
        let width = columns * w + (columns + 1) * gap
        let out = Tensor(repeating: background, shape: [1, c, height, width])
        for (r, row) in rows.enumerated() {
            for (k, tile) in row.enumerated() {
                let (y0, x0) = (gap + r * (h + gap), gap + k * (w + gap))
                let tc = tile.shape[1]
                for ch in 0..<c {
                    let src = tile.pointer + min(ch, tc - 1) * h * w
                    for y in 0..<h {
                        (out.pointer + (ch * height + y0 + y) * width + x0).update(from: src + y * w, count: w)
                    }
                }
            }
        }
        return out
    }

    /// Like `compose`, with a caption under every tile (clipped to the tile's width).
    public static func composeLabelled(_ rows: [[(label: String, image: Tensor)]], gap: Int = 4, background: Float = 0.15) -> Tensor {
        guard let first = rows.first?.first?.image else { return Tensor(zeros: [1, 1, 1, 1]) }
        let (c, h, w) = (first.shape[1], first.shape[2], first.shape[3])
        let captionHeight = 11
        let padded = rows.map { row in
            row.map { tile -> Tensor in
                let out = Tensor(repeating: background, shape: [1, c, h + captionHeight, w])
                for ch in 0..<c {
                    (out.pointer + ch * (h + captionHeight) * w).update(from: tile.image.pointer + min(ch, tile.image.shape[1] - 1) * h * w, count: h * w)
                }
                var text = tile.label
                while BitmapFont.width(text) > w, !text.isEmpty { text.removeLast() }
                BitmapFont.draw(text, into: out, x: max(0, (w - BitmapFont.width(text)) / 2), y: h + 2, value: 0.9)
                return out
            }
        }
        return compose(padded, gap: gap, background: background)
    }

    /// The integer factor that brings an image of `size` pixels to at least `target` (28 → 224 for 224).
    public static func viewingFactor(size: Int, target: Int = 224) -> Int { max(1, (target + size - 1) / size) }

    /// The side at which tiles of the sides `sides` are shown together: the largest of their viewing sizes (stage I's
    /// 64² enlarged ×4 beside stage II's 256²).
    public static func displaySide(_ sides: [Int], target: Int) -> Int {
        sides.map { $0 * viewingFactor(size: $0, target: target) }.max() ?? 1
    }

    /// `tile` [1,C,s,s] at `side`: enlarged (nearest), then area-resized when `side` is not a multiple of s.
    public static func shown(_ tile: Tensor, side: Int) -> Tensor {
        let s = tile.shape[2]
        if s == side { return tile }
        let enlarged = ImageResize.enlarge(tile, factor: (side + s - 1) / s)
        return enlarged.shape[2] == side ? enlarged : ImageResize.area(enlarged, size: side)
    }
}
