//! Bytes to commands and back. Nothing in here does I/O.

pub mod frame;
pub mod names;
pub mod timestamp;
pub mod write;

pub use frame::{Command, ParseError, Role, parse_frame};
