import XCTest
import DarkroomTensor
import DarkroomTestSupport
@testable import DarkroomTraining

/// The Fréchet distance against pytorch-fid's formula (numpy covariances, scipy's sqrtm) on random feature sets
/// (scripts/reference/make_frechet_fixtures.py).
final class FrechetDistanceTests: XCTestCase {
    func testDistanceMatchesScipysMatrixSquareRoot() throws {
        let f = try Fixtures.open("frechet.safetensors")
        for name in ["small", "wide"] {
            let expected = Double(f.metadata[name]!)!
            let fd = FrechetDistance.between(try f.tensor("\(name).a"), try f.tensor("\(name).b"))
            XCTAssertEqual(fd, expected, accuracy: 1e-6 * max(expected, 1), name)
        }
        // A set against itself is at distance 0, and the distance is symmetric.
        let a = try f.tensor("same.a"), b = try f.tensor("small.a"), c = try f.tensor("small.b")
        XCTAssertEqual(FrechetDistance.between(a, a), 0, accuracy: 1e-9)
        XCTAssertEqual(FrechetDistance.between(b, c), FrechetDistance.between(c, b), accuracy: 1e-9)
    }

    func testShiftingTheMeanAddsItsSquaredLength() throws {
        let f = try Fixtures.open("frechet.safetensors")
        let a = try f.tensor("small.a")
        let shifted = a.copy()
        for r in 0..<a.shape[0] { for j in 0..<a.shape[1] { shifted[r, j] += j == 3 ? 2 : 0 } }
        XCTAssertEqual(FrechetDistance.between(a, shifted), 4, accuracy: 1e-6)
    }

    func testEigenDecompositionRebuildsTheMatrix() {
        let d = 5
        var m = [Double](repeating: 0, count: d * d)
        for i in 0..<d { for j in 0..<d { m[i * d + j] = Double(min(i, j) + 1) + (i == j ? 2 : 0) } }
        let (values, vectors) = FrechetDistance.symmetricEigen(m, d)
        for i in 0..<d {
            for j in 0..<d {
                let rebuilt = (0..<d).reduce(0.0) { $0 + vectors[i * d + $1] * values[$1] * vectors[j * d + $1] }
                XCTAssertEqual(rebuilt, m[i * d + j], accuracy: 1e-10)
            }
        }
    }
}
