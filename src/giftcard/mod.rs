//! The gift-card vendor pack (contract Part B): the vendor mock that
//! `launchgate mock --api giftcard` and `launchgate run --api giftcard` start,
//! the vendor dialects, the vendor scorecard, and the `launchgate webhook` tools
//! for the integration's own receiver. (launchgate's own webhook receiver, for
//! `receive:` steps, is [`crate::receiver`]; the signature schemes are
//! [`crate::signature`].)

pub mod dialect;
pub mod findings;
pub mod mock;
pub mod quirk;
pub mod scorecard;
pub mod tools;

pub use dialect::VendorDialect;
pub use mock::{VendorMock, VendorOptions};
pub use quirk::{VendorQuirk, VendorQuirkArg};
