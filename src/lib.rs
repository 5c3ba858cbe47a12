//! launchgate: a launch-readiness conformance harness.
//!
//! Data flows one way: [`scenario`] files are loaded, [`plan`]ned against a
//! [`target`], executed by the [`runner`], and the results rendered by
//! [`report`]. The embedded [`mock`] is the default target.

pub mod mock;
pub mod target;
