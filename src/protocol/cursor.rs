//! Reading a command's arguments one by one, as tokio's mini-redis reads a frame with `Parse`.
//!
//! Each typed command (`command/`) walks `Command::args` with a `Cursor` and ends with `finish()`,
//! so a missing, extra or malformed argument is found in one place and reported as an `ArgError`
//! naming the verb and the argument's position. The handler decides what that costs the client
//! (an error code or a disconnect), as the real service did per command.

use super::frame::Command;
use std::fmt;
use std::str::FromStr;

/// What was wrong with a command's arguments. `index` counts arguments after the trid from 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // every variant's fields are the verb and the argument's position
pub enum ArgError {
    /// Fewer arguments than the command needs; `index` is the first one missing.
    Missing { verb: &'static str, index: usize },
    /// More arguments than the command takes; `index` is the first one too many.
    Extra { verb: &'static str, index: usize },
    /// The argument at `index` is not a value the command accepts.
    Invalid { verb: &'static str, index: usize },
}

impl ArgError {
    /// The verb of the command that was refused.
    pub fn verb(&self) -> &'static str {
        match *self {
            ArgError::Missing { verb, .. }
            | ArgError::Extra { verb, .. }
            | ArgError::Invalid { verb, .. } => verb,
        }
    }

    /// Position of the offending argument (after the trid, from 0).
    pub fn index(&self) -> usize {
        match *self {
            ArgError::Missing { index, .. }
            | ArgError::Extra { index, .. }
            | ArgError::Invalid { index, .. } => index,
        }
    }
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ArgError::Missing { verb, index } => write!(f, "{verb}: argument {index} missing"),
            ArgError::Extra { verb, index } => write!(f, "{verb}: extra argument at {index}"),
            ArgError::Invalid { verb, index } => write!(f, "{verb}: argument {index} invalid"),
        }
    }
}

impl std::error::Error for ArgError {}

/// A position in a command's arguments. Borrows the arguments; allocates nothing.
pub struct Cursor<'a> {
    verb: &'static str,
    args: &'a [&'a str],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor over `cmd`'s arguments; `verb` names the command in errors.
    pub fn new(verb: &'static str, cmd: &'a Command<'a>) -> Cursor<'a> {
        Cursor::over(verb, &cmd.args)
    }

    /// A cursor over bare arguments (what `Command::args` holds).
    pub fn over(verb: &'static str, args: &'a [&'a str]) -> Cursor<'a> {
        Cursor { verb, args, pos: 0 }
    }

    /// The next argument, which must be there.
    #[allow(clippy::should_implement_trait)] // fallible, unlike `Iterator::next`
    pub fn next(&mut self) -> Result<&'a str, ArgError> {
        let arg = self.args.get(self.pos).copied().ok_or(ArgError::Missing {
            verb: self.verb,
            index: self.pos,
        })?;
        self.pos += 1;
        Ok(arg)
    }

    /// The next argument parsed as `T` (`u32`, `u8`...): `Missing` or `Invalid`.
    pub fn next_parsed<T: FromStr>(&mut self) -> Result<T, ArgError> {
        let arg = self.next()?;
        arg.parse().map_err(|_| self.invalid_last())
    }

    /// The next argument mapped by `f`; `None` from `f` is `Invalid`.
    pub fn next_with<T>(&mut self, f: impl FnOnce(&'a str) -> Option<T>) -> Result<T, ArgError> {
        let arg = self.next()?;
        f(arg).ok_or_else(|| self.invalid_last())
    }

    /// The next argument if there is one.
    pub fn optional(&mut self) -> Option<&'a str> {
        let arg = self.args.get(self.pos).copied()?;
        self.pos += 1;
        Some(arg)
    }

    /// The next argument, without moving past it.
    pub fn peek(&self) -> Option<&'a str> {
        self.args.get(self.pos).copied()
    }

    /// Every argument not read yet (the cursor ends up at the end).
    pub fn rest(&mut self) -> &'a [&'a str] {
        let rest = &self.args[self.pos.min(self.args.len())..];
        self.pos = self.args.len();
        rest
    }

    /// How many arguments are left.
    pub fn remaining(&self) -> usize {
        self.args.len().saturating_sub(self.pos)
    }

    /// `Extra` if any argument was not read.
    pub fn finish(&self) -> Result<(), ArgError> {
        if self.pos < self.args.len() {
            return Err(ArgError::Extra {
                verb: self.verb,
                index: self.pos,
            });
        }
        Ok(())
    }

    /// An `Invalid` error for the argument just read.
    pub fn invalid_last(&self) -> ArgError {
        ArgError::Invalid {
            verb: self.verb,
            index: self.pos.saturating_sub(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_in_order_and_reports_positions() {
        let args = ["FL", "12", "x"];
        let mut c = Cursor::over("ADD", &args);
        assert_eq!(c.next(), Ok("FL"));
        assert_eq!(c.next_parsed::<u32>(), Ok(12));
        assert_eq!(c.remaining(), 1);
        assert_eq!(
            c.finish(),
            Err(ArgError::Extra {
                verb: "ADD",
                index: 2
            })
        );
        assert_eq!(
            c.next_parsed::<u8>(),
            Err(ArgError::Invalid {
                verb: "ADD",
                index: 2
            })
        );
        assert_eq!(
            c.next(),
            Err(ArgError::Missing {
                verb: "ADD",
                index: 3
            })
        );
        assert_eq!(c.optional(), None);
        assert_eq!(c.finish(), Ok(()));
        let e = ArgError::Missing {
            verb: "REA",
            index: 1,
        };
        assert_eq!((e.verb(), e.index()), ("REA", 1));
        assert_eq!(e.to_string(), "REA: argument 1 missing");
    }

    #[test]
    fn rest_and_optional() {
        let args = ["a", "b", "c"];
        let mut c = Cursor::over("SND", &args);
        assert_eq!(c.optional(), Some("a"));
        assert_eq!(c.rest(), &["b", "c"]);
        assert_eq!(c.rest(), &[] as &[&str]);
        assert_eq!(c.finish(), Ok(()));
        assert_eq!(
            Cursor::over("BLP", &args).next_with(|a| (a == "AL").then_some(())),
            Err(ArgError::Invalid {
                verb: "BLP",
                index: 0
            })
        );
    }
}
