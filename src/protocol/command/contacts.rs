//! ADL, RML and FQY (MSNP13+): the contact list as the client tells it to the server, in an
//! `<ml>` payload (`protocol::ml` reads it; the handler does, so that a malformed payload costs
//! the error code the official server gave, not the connection).

use super::{ClientCommand, head, payload};
use crate::dialect::Dialect;
use crate::protocol::cursor::{ArgError, Cursor};
use crate::protocol::frame::Command;

/// Writes one of the three: `VRB trid len` and the payload.
macro_rules! ml_command {
    ($(#[$doc:meta])* $name:ident, $verb:literal) => {
        $(#[$doc])*
        #[derive(Debug, PartialEq, Eq)]
        pub struct $name<'a> {
            /// The `<ml>` document, as sent.
            pub data: &'a [u8],
        }

        impl<'a> ClientCommand<'a> for $name<'a> {
            const VERB: &'static str = $verb;

            fn parse(cmd: &'a Command<'a>, _: &Dialect) -> Result<Self, ArgError> {
                let mut c = Cursor::new(Self::VERB, cmd);
                let _length = c.next()?; // checked by the framer, which cut the payload
                c.finish()?;
                Ok($name { data: cmd.payload })
            }

            fn write(&self, trid: u32, _: &Dialect, out: &mut Vec<u8>) {
                head(out, Self::VERB, trid);
                payload(out, self.data);
            }
        }
    };
}

ml_command!(
    /// `ADL trid len` + `<ml>`: puts contacts on lists (or, the first after sign-in, with
    /// `<ml l="1">`, names the whole list to subscribe to their presence).
    Adl,
    "ADL"
);
ml_command!(
    /// `RML trid len` + `<ml>`: takes contacts off lists.
    Rml,
    "RML"
);
ml_command!(
    /// `FQY trid len` + `<ml>`: asks which network each address is on (MSNP14+).
    Fqy,
    "FQY"
);
