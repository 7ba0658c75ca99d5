import XCTest
import DarkroomModels

/// Prompts select classes by name.
final class ClassPromptTests: XCTestCase {
    let fashion = ClassPrompt(classes: ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"])

    func testPromptsSelectClassesByWholeName() throws {
        XCTAssertEqual(try fashion.classIndex(for: "a photo of a sneaker"), 7)
        XCTAssertEqual(try fashion.classIndex(for: "A T-Shirt."), 0)
        XCTAssertEqual(try fashion.classIndex(for: "shirt"), 6)
        XCTAssertEqual(try fashion.classIndex(for: "an ankle boot, studio light"), 9)
        XCTAssertNil(try fashion.classIndex(for: "  "))
    }

    func testUnknownOrAmbiguousPromptsListTheClasses() {
        XCTAssertThrowsError(try fashion.classIndex(for: "a giraffe")) { XCTAssertTrue("\($0)".contains("ankle boot")) }
        XCTAssertThrowsError(try fashion.classIndex(for: "a bag and a coat")) { XCTAssertTrue("\($0)".contains("several")) }
        XCTAssertThrowsError(try ClassPrompt(classes: []).classIndex(for: "cat"))
    }
}
