//! The gift-card vendor pack (contract Part B): the vendor mock that
//! `launchgate mock --api giftcard` and `launchgate run --api giftcard` start,
//! launchgate's webhook receiver for `receive:` steps, the vendor scorecard,
//! and the `launchgate webhook` tools for the integration's own receiver.

pub mod dialect;
pub mod findings;
pub mod mock;
pub mod quirk;
pub mod receiver;
pub mod scorecard;
pub mod signature;
pub mod tools;

pub use dialect::VendorDialect;
pub use mock::{VendorMock, VendorOptions};
pub use quirk::{VendorQuirk, VendorQuirkArg};
