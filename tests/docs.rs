//! Every YAML example in docs/scenario-format.md is a file `launchgate check` accepts.

use std::path::Path;

#[test]
fn every_documented_example_loads() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/scenario-format.md")).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in doc.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```yaml") => current = Some(String::new()),
            (Some(b), "```") => {
                blocks.push(std::mem::take(b));
                current = None;
            }
            (Some(b), l) => {
                b.push_str(l);
                b.push('\n');
            }
            _ => {}
        }
    }
    assert!(blocks.len() >= 8, "found {} examples", blocks.len());
    for (i, b) in blocks.iter().enumerate() {
        let name = format!("docs/example-{i}.yaml");
        if let Err(diags) = launchgate::scenario::load_file(Path::new(&name), b) {
            let shown: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
            panic!("example {i} does not load:\n{}\n---\n{b}", shown.join("\n"));
        }
    }
}
