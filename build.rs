//! Embeds the built-in scenarios and snapshots, so `launchgate run` works from any directory.

use std::fs;
use std::path::Path;

fn collect(dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            collect(&p, out);
        } else if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        ) {
            out.push(p.to_string_lossy().replace('\\', "/"));
        }
    }
}

fn main() {
    let root = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let mut code = String::new();
    for (name, dir) in [
        ("BUILTIN_SCENARIOS", "scenarios"),
        ("BUILTIN_SNAPSHOTS", "snapshots"),
    ] {
        println!("cargo:rerun-if-changed={dir}");
        let mut files = Vec::new();
        let base = Path::new(&root);
        collect(&base.join(dir), &mut files);
        code.push_str(&format!("/// Files under `{dir}/` built into the binary: (relative path, contents).\npub static {name}: &[(&str, &str)] = &[\n"));
        for f in files {
            let rel = Path::new(&f)
                .strip_prefix(base)
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .unwrap_or(f.clone());
            code.push_str(&format!("    ({rel:?}, include_str!({f:?})),\n"));
        }
        code.push_str("];\n");
    }
    let out = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    fs::write(Path::new(&out).join("builtin.rs"), code)
        .unwrap_or_else(|e| panic!("cannot write builtin.rs: {e}"));
}
