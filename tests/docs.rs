//! Every YAML example in docs/scenario-format.md is a file `launchgate check` accepts;
//! the READMEs and docs point only at files a clone has, in words a reader can resolve.

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

/// Relative Markdown links `](path)` and `](path#anchor)` of a document.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        let Some(end) = rest.find(')') else { break };
        let target = rest[..end].split('#').next().unwrap_or("").to_string();
        if !target.is_empty() && !target.contains("://") && !target.starts_with("mailto:") {
            out.push(target);
        }
    }
    out
}

#[test]
fn documents_link_only_to_files_in_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for doc in [
        "README.md",
        "src/mock/README.md",
        "docs/contract.md",
        "docs/vendor-contract.md",
        "docs/scenario-format.md",
        "docs/architecture.md",
    ] {
        let text = std::fs::read_to_string(root.join(doc)).unwrap();
        for outside in [
            "../shared",
            "/work/",
            "design card",
            "design seeds",
            "contract Part",
        ] {
            assert!(!text.contains(outside), "{doc} mentions `{outside}`");
        }
        let dir = root.join(doc).parent().unwrap().to_path_buf();
        for link in links(&text) {
            assert!(
                dir.join(&link).exists(),
                "{doc} links to {link}, which does not exist"
            );
        }
    }
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.contains("](docs/contract.md"),
        "README points at the contract"
    );
    // Every variable the built-in suite reads is listed in README and the contract.
    let contract = std::fs::read_to_string(root.join("docs/contract.md")).unwrap();
    for input in launchgate::AGENT_API_INPUTS {
        let var = input.default_var();
        assert!(readme.contains(&var), "README does not list {var}");
        assert!(
            contract.contains(&var),
            "docs/contract.md does not list {var}"
        );
    }
}

/// docs/architecture.md stays a true map of src/: every top-level module of src/ is
/// named there, and every `src/...` path it names exists.
#[test]
fn the_architecture_map_names_every_module_and_only_real_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let map = std::fs::read_to_string(root.join("docs/architecture.md")).unwrap();
    for entry in std::fs::read_dir(root.join("src")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let shown = if name.ends_with(".rs") {
            format!("src/{name}")
        } else {
            format!("src/{name}/")
        };
        if name.ends_with(".rs") || root.join("src").join(&name).is_dir() {
            assert!(
                map.contains(&shown),
                "docs/architecture.md does not name {shown}"
            );
        }
    }
    let path = regex::Regex::new(r"src/[A-Za-z0-9_/.]*[A-Za-z0-9_/]").unwrap();
    for m in path.find_iter(&map) {
        assert!(
            root.join(m.as_str()).exists(),
            "docs/architecture.md names {}, which does not exist",
            m.as_str()
        );
    }
}
