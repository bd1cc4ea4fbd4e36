//! The README's tour code is `examples/tour.rs`, which CI builds: a change
//! to one without the other fails here.

#[test]
fn readme_shows_the_tour_example() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).expect("README.md");
    let example = std::fs::read_to_string(format!("{root}/crates/celeriac/examples/tour.rs")).expect("tour.rs");
    let start =
        readme.find("```rust\n// src/main.rs\n").expect("the tour's code block") + "```rust\n// src/main.rs\n".len();
    let end = start + readme[start..].find("```").expect("end of the code block");
    let shown = &readme[start..end];
    let code_start = example.find("use std::time::Duration;").expect("the example's code");
    assert_eq!(
        shown.trim(),
        example[code_start..].trim(),
        "README.md and examples/tour.rs differ"
    );
}
