//! The module graph of src/ stays acyclic (issue 15): no chain of `crate::` paths leads
//! from a module back to itself, neither between top-level modules (`target`,
//! `scenario`, `giftcard`, ...) nor between files. Edges are read the way
//! `modgraph.py` reads them: every `crate::a::b` path outside a `#[cfg(test)] mod tests`
//! block, doc links included (a doc link that names a module is a dependency of the
//! reader too).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use regex::Regex;

type Graph = BTreeMap<String, BTreeSet<String>>;

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rs_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The graph node of a file: its top-level module, or its module path as a file path
/// (`mock/api`, `giftcard/mock` for `giftcard/mock/mod.rs`).
fn node(rel: &Path, top: bool) -> String {
    let path = rel.with_extension("").to_string_lossy().replace('\\', "/");
    let mut parts: Vec<&str> = path.split('/').collect();
    if parts.len() > 1 && parts.last() == Some(&"mod") {
        parts.pop();
    }
    if top {
        parts[0].to_string()
    } else {
        parts.join("/")
    }
}

fn graph(top: bool) -> Graph {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rs_files(&root, &mut files);
    let rel = |f: &Path| f.strip_prefix(&root).unwrap().to_path_buf();
    let mods: BTreeSet<String> = files.iter().map(|f| node(&rel(f), top)).collect();
    let path = Regex::new(r"crate::((?:\w+::)*\w+)").unwrap();
    let tests = Regex::new(r"#\[cfg\(test\)\]\s*mod tests").unwrap();
    let mut edges = Graph::new();
    for f in &files {
        let from = node(&rel(f), top);
        let text = std::fs::read_to_string(f).unwrap();
        let text = tests.split(&text).next().unwrap_or_default();
        for c in path.captures_iter(text) {
            let parts: Vec<&str> = c[1].split("::").collect();
            let to = (1..=parts.len())
                .rev()
                .map(|i| parts[..i].join("/"))
                .find(|m| mods.contains(m) && (!top || !m.contains('/')));
            if let Some(to) = to.filter(|t| *t != from) {
                edges.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    edges
}

/// A cycle of the graph, as the path that closes it, if there is one.
fn cycle(g: &Graph) -> Option<Vec<String>> {
    fn visit(
        g: &Graph,
        n: &str,
        done: &mut BTreeSet<String>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|s| s == n) {
            let mut c = stack[at..].to_vec();
            c.push(n.to_string());
            return Some(c);
        }
        if !done.insert(n.to_string()) {
            return None;
        }
        stack.push(n.to_string());
        for next in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(g, next, done, stack) {
                return Some(c);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    g.keys()
        .find_map(|n| visit(g, n, &mut done, &mut Vec::new()))
}

#[test]
fn top_level_modules_import_each_other_without_a_cycle() {
    let g = graph(true);
    assert!(g.len() > 10, "too few edges read: {g:?}");
    if let Some(c) = cycle(&g) {
        panic!("import cycle between modules: {}", c.join(" -> "));
    }
}

#[test]
fn files_import_each_other_without_a_cycle() {
    let g = graph(false);
    assert!(g.len() > 20, "too few edges read: {g:?}");
    if let Some(c) = cycle(&g) {
        panic!("import cycle between files: {}", c.join(" -> "));
    }
}
