//! A request URL built from templates never leaves the target's origin or base path,
//! and a captured value is always exactly one path segment (issue 17, item 3).
//! The property itself lives in `tests/props/mod.rs`, shared with the CI smoke test.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/props/mod.rs"]
mod props;

fuzz_target!(|data: &[u8]| props::url_property(data));
