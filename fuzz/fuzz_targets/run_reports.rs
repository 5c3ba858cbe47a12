//! Whatever a server sends, every planned case appears exactly once in every report
//! (JUnit, JSON, HTML, console), no key leaks and no case panics (issue 17, item 1).
//! Each input is a whole `launchgate run` in-process against a loopback server that
//! answers with the input; run it with `-close_fd_mask=1` (the run's summary lines go
//! to stdout). The property lives in `tests/props/mod.rs`, shared with the CI smoke test.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/props/mod.rs"]
mod props;

fuzz_target!(|data: &[u8]| props::run_property(data));
