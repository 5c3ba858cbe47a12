//! The integration tests: one binary (as ripgrep does), one module per former test
//! file, so the suite links tokio, axum and reqwest once instead of once per file.
//! Cargo's automatic test targets are off (`autotests = false` in Cargo.toml): a new
//! file under tests/ is compiled only once it is declared here, and
//! `every_test_file_is_a_declared_module` fails until it is.
//!
//! Shared helpers: `common` (the env-cleaned binary, the standalone mock, raw-TCP
//! servers, report readers, and `common::mock`: the in-process mock with an HTTP
//! client) and `props` (the properties the fuzz targets share with `fuzz/`).

mod common;
mod props;

mod architecture;
mod checklist;
mod ci_examples;
mod ci_scale;
mod cli;
mod decision;
mod docs;
mod doctor;
mod fuzz_smoke;
mod gateway;
mod giftcard;
mod giftcard_mock;
mod giftcard_receiver;
mod hostile;
mod html;
mod mock_cli;
mod mock_concurrency;
mod mock_contract;
mod mock_limits;
mod proxy;
mod quirks;
mod referee;
mod report_consumers;
mod schedule;
mod tls;

/// Every `.rs` file and directory module under tests/ is declared above: with
/// `autotests = false` an undeclared file would silently never run.
#[test]
fn every_test_file_is_a_declared_module() {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let this = std::fs::read_to_string(here.join("tests.rs")).unwrap();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&here).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let module = if path.is_dir() {
            if !path.join("mod.rs").exists() {
                continue; // data, snapshots
            }
            name
        } else if let Some(stem) = name.strip_suffix(".rs") {
            stem.to_string()
        } else {
            continue;
        };
        if module != "tests" && !this.contains(&format!("\nmod {module};\n")) {
            missing.push(module);
        }
    }
    assert!(
        missing.is_empty(),
        "declare these in tests/tests.rs: {missing:?}"
    );
}

/// Every test starts the binary through `common` (a clean environment, so no
/// ambient `LAUNCHGATE_*` variable leaks in): no file outside tests/common/ looks
/// the binary up itself.
#[test]
fn every_spawn_of_the_binary_goes_through_common() {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut offenders = Vec::new();
    let mut dirs = vec![here.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if !path.ends_with("common") {
                    dirs.push(path);
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") || path == here.join("tests.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for needle in ["cargo_bin", "CARGO_BIN_EXE"] {
                if text.contains(needle) {
                    offenders.push(format!("{}: {needle}", path.display()));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "start the binary with common::bin(), common::process() or common::command(): {offenders:?}"
    );
}
