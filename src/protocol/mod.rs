//! Bytes to commands and back. Nothing in here does I/O.

pub mod command;
pub mod cursor;
pub mod frame;
pub mod ml;
pub mod names;
pub mod percent;
pub mod reply;
pub mod timestamp;
pub mod uux;
pub mod write;
pub mod xml;

pub use cursor::{ArgError, Cursor};
pub use frame::{Command, ParseError, Role, parse_frame};
