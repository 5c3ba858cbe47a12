//! Any text handed to the scenario loader yields a suite or diagnostics, never a panic;
//! rendering the diagnostics (snippets with carets) must not panic either.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match launchgate::scenario::load_file(Path::new("scenarios/fuzz/input.yaml"), text) {
        Ok(suite) => {
            for case in &suite.spec.cases {
                let _ = launchgate::references(&case.value, &suite);
            }
        }
        Err(diags) => {
            for d in diags {
                let _ = d.to_string();
            }
        }
    }
});
