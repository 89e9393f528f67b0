//! Every command a client sends, declared once: its verb, the type that parses it (and whose
//! `impl Apply` handles it), how its frame is read, when a session may send it and in which
//! versions it exists.
//!
//! The table is a macro so that each reader derives what it needs from the same lines:
//! `Dialect::ns_command` (availability, here), `protocol::frame` (which verbs carry a payload or
//! no trid, `frame_of`), and the dispatch `match` of `ns` and `sb` (`ns_commands!(callback)` hands
//! the rows to a macro of the role, which writes one arm per type). Adding a command is one row
//! here, its type in `protocol/command/` and its `impl Apply` in the role's family file
//! (docs/protocol-commands.md, "How to add a command").
//!
//! Per-version facts stay in the dialect table (`Dialect` fields); a row's "exists in" column
//! only names the field. The types are written relative to `command`, which the expanding module
//! names (`use crate::protocol::command;`), so this file imports nothing from `protocol`.

use super::{Availability, Dialect};

/// How the frame parser reads a verb's line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame {
    /// `VRB trid args...`.
    Line,
    /// `VRB trid args... len` and `len` bytes of payload.
    Payload,
    /// As `Payload`, with the larger bound of an `<ml>` contact list (`ADL`/`RML`/`FQY`,
    /// `limits::MAX_ML_PAYLOAD`: 150 contacts do not fit in the other payloads' 2 KiB).
    MlPayload,
    /// `VRB args...` with no transaction id (PNG, OUT).
    NoTrid,
}

/// Whether a notification session must be logged in to send a verb.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Part of the login sequence (or harmless before it): applied before login too.
    Open,
    /// Answered `302` before login.
    Login,
}

/// What a logged-in notification session gets for a verb.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoggedIn {
    /// The command is applied.
    Apply,
    /// The connection is closed with this reason (the real service hung up).
    Close(&'static str),
    /// This error code is answered.
    Error(u16),
}

/// One row of a command table, as data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spec {
    /// The verb on the wire.
    pub verb: &'static str,
    /// How its frame is read.
    pub frame: Frame,
    /// Whether it needs a login (notification role).
    pub phase: Phase,
    /// What a logged-in session gets (notification role).
    pub logged_in: LoggedIn,
}

/// `Yes` where the dialect has the feature, `Removed` elsewhere.
pub const fn yes(cond: bool) -> Availability {
    if cond {
        Availability::Yes
    } else {
        Availability::Removed
    }
}

/// The notification role's commands (dispatch shares them). Columns: verb, parser and handler
/// (`[]` for verbs that are only ever refused), frame, phase, when logged in, exists in.
///
/// `CVQ` is only read before `VER` (`ns::login`), so it exists in no agreed dialect.
macro_rules! ns_commands {
    ($then:ident $($args:tt)*) => {
        $then! { $($args)* =>
            "VER" [command::login::Ver]   Line    Open  Close("repeated login handshake"), |_| Yes;
            "INF" [command::login::Inf]   Line    Open  Close("repeated login handshake"), |d| yes(d.inf);
            "CVQ" [command::login::Cvq]   Line    Open  Apply, |_| Removed;
            "CVR" [command::login::Cvr]   Line    Open  Apply, |_| Yes;
            "USR" [command::login::Usr]   Line    Open  Apply, |_| Yes;
            "PNG" [command::misc::Png]    NoTrid  Open  Apply, |_| Yes;
            "OUT" [command::misc::Out]    NoTrid  Open  Apply, |_| Yes;
            "SYN" [command::sync::Syn]    Line    Login Apply, |d| yes(!d.address_book);
            "LST" [command::sync::Lst]    Line    Login Apply, |d| yes(d.client_lst);
            "LSG" [command::sync::Lsg]    Line    Login Apply, |d| yes(d.client_lst);
            "ADD" [command::lists::Add]   Line    Login Apply, |d| yes(d.list_commands == ListCommands::Add);
            "ADC" [command::lists::Adc]   Line    Login Apply, |d| yes(d.list_commands == ListCommands::Adc && !d.address_book);
            "REM" [command::lists::Rem]   Line    Login Apply, |d| yes(!d.address_book);
            "BLP" [command::lists::Blp]   Line    Login Apply, |_| Yes;
            "GTC" [command::lists::Gtc]   Line    Login Apply, |d| yes(!d.address_book);
            "ADG" [command::groups::Adg]  Line    Login Apply, |d| yes(d.groups != Groups::None && !d.address_book);
            "RMG" [command::groups::Rmg]  Line    Login Apply, |d| yes(d.groups != Groups::None && !d.address_book);
            "REG" [command::groups::Reg]  Line    Login Apply, |d| yes(d.groups != Groups::None && !d.address_book);
            "CHG" [command::presence::Chg] Line   Login Apply, |_| Yes;
            "REA" [command::presence::Rea] Line   Login Apply, |d| yes(d.rea);
            "PRP" [command::presence::Prp] Line   Login Apply, |d| yes(d.phones);
            "SBP" [command::presence::Sbp] Line   Login Apply, |d| yes(d.list_commands == ListCommands::Adc && !d.address_book);
            "UUX" [command::presence::Uux] Payload Login Apply, |d| yes(d.personal_message);
            "UUN" [command::presence::Uun] Payload Login Apply, |d| yes(d.endpoint_messages);
            "XFR" [command::xfr::Xfr]     Line    Login Apply, |_| Yes;
            "URL" [command::misc::Url]    Line    Login Apply, |_| Yes;
            "SND" [command::misc::Snd]    Line    Login Apply, |_| Yes;
            "SDC" [command::misc::Sdc]    Payload Login Apply, |d| yes(d.sdc);
            "IMS" [command::misc::Ims]    Line    Login Apply, |d| yes(d.ims);
            "QRY" [command::misc::Qry]    Payload Login Apply, |d| yes(d.challenge != Challenge::None);
            "GCF" [command::misc::Gcf]    Line    Login Apply, |d| yes(d.personal_message);
            "FND" [command::misc::Fnd]    Line    Login Apply, |d| d.fnd;
            "PAG" []                      Payload Login Apply, |d| d.pag;
            "PGD" []                      Payload Login Apply, |d| d.pgd;
            "UUM" []                      Payload Login Apply, |d| d.uum;
            "PUT" []                      Payload Login Apply, |d| d.circles;
            "SDG" []                      Payload Login Apply, |d| d.circles;
            "ADL" [command::contacts::Adl] MlPayload Login Apply, |d| yes(d.address_book);
            "RML" [command::contacts::Rml] MlPayload Login Apply, |d| yes(d.address_book);
            "FQY" [command::contacts::Fqy] MlPayload Login Apply, |d| yes(d.address_book);
        }
    };
}

/// The switchboard role's commands. Same columns; the phase columns are unused (the switchboard's
/// own rule is "USR/ANS before joining, CAL/MSG after, OUT any time", `sb::SbApply::JOINED`), and
/// every command exists in every version (there is no VER on a switchboard).
macro_rules! sb_commands {
    ($then:ident $($args:tt)*) => {
        $then! { $($args)* =>
            "USR" [command::switchboard::SbUsr] Line    Open  Apply, |_| Yes;
            "ANS" [command::switchboard::Ans]   Line    Open  Apply, |_| Yes;
            "CAL" [command::switchboard::Cal]   Line    Login Apply, |_| Yes;
            "MSG" [command::switchboard::Msg]   Payload Login Apply, |_| Yes;
            "OUT" [command::misc::Out]          NoTrid  Open  Apply, |_| Yes;
        }
    };
}

pub(crate) use ns_commands;
pub(crate) use sb_commands;

/// Writes, from a table's rows, `$name(verb) -> Option<Spec>`, `$avail(dialect, verb)` and the
/// list of verbs `$verbs`.
macro_rules! specs {
    ($name:ident $avail:ident $verbs:ident =>
     $($verb:literal [$($ty:ty)?] $frame:ident $phase:ident $logged:expr, $exists:expr;)*) => {
        /// The row of `verb`, if the table has one.
        pub fn $name(verb: &str) -> Option<Spec> {
            use LoggedIn::*;
            match verb {
                $($verb => Some(Spec {
                    verb: $verb,
                    frame: Frame::$frame,
                    phase: Phase::$phase,
                    logged_in: $logged,
                }),)*
                _ => None,
            }
        }

        /// Whether a client may send `verb` in `d` (`Removed` for verbs not in the table).
        pub fn $avail(d: &Dialect, verb: &str) -> Availability {
            #[allow(unused_imports)]
            use super::{Challenge, Groups, ListCommands};
            use Availability::*;
            match verb {
                $($verb => {
                    let exists: fn(&Dialect) -> Availability = $exists;
                    exists(d)
                })*
                _ => Removed,
            }
        }

        /// Every verb of the table, in table order.
        pub const $verbs: &[&str] = &[$($verb),*];
    };
}

ns_commands!(specs ns_spec ns_availability NS_VERBS);
sb_commands!(specs sb_spec sb_availability SB_VERBS);

impl Dialect {
    /// Whether a client may send `verb` to the notification server in this version (the
    /// command table's "exists in" column). Here rather than in `dialect.rs`, so that the table
    /// imports the dialect and not the other way round.
    pub fn ns_command(&self, verb: &str) -> Availability {
        ns_availability(self, verb)
    }
}

/// How `role`'s parser reads `verb`: a verb of neither table is a plain line. A verb without a
/// trid has none in either role (a stray `PNG` on a switchboard is read, then refused).
pub fn frame_of(switchboard: bool, verb: &str) -> Frame {
    let spec = if switchboard {
        sb_spec(verb)
    } else {
        ns_spec(verb)
    };
    match spec {
        Some(s) => s.frame,
        None if ns_spec(verb).is_some_and(|s| s.frame == Frame::NoTrid)
            || sb_spec(verb).is_some_and(|s| s.frame == Frame::NoTrid) =>
        {
            Frame::NoTrid
        }
        None => Frame::Line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the frame parser read before the table existed: the payload verbs per role and the
    /// verbs without a trid.
    #[test]
    fn frames_match_the_former_lists() {
        for v in NS_VERBS
            .iter()
            .chain(SB_VERBS)
            .chain(&["MSG", "CHL", "XYZ"])
        {
            let ns_payload = matches!(
                *v,
                "QRY"
                    | "SDC"
                    | "PAG"
                    | "PGD"
                    | "UUX"
                    | "UUN"
                    | "UUM"
                    | "PUT"
                    | "SDG"
                    | "ADL"
                    | "RML"
                    | "FQY"
            );
            let sb_payload = *v == "MSG";
            let no_trid = matches!(*v, "PNG" | "OUT");
            let ml = matches!(*v, "ADL" | "RML" | "FQY");
            let want = |payload| match (payload, no_trid) {
                (true, _) if ml => Frame::MlPayload,
                (true, _) => Frame::Payload,
                (_, true) => Frame::NoTrid,
                _ => Frame::Line,
            };
            assert_eq!(frame_of(false, v), want(ns_payload), "NS {v}");
            assert_eq!(frame_of(true, v), want(sb_payload), "SB {v}");
        }
    }

    #[test]
    fn verbs_are_unique() {
        for list in [NS_VERBS, SB_VERBS] {
            for (i, v) in list.iter().enumerate() {
                assert!(!list[..i].contains(v), "{v} twice");
            }
        }
    }
}
