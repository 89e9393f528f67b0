//! The loop every connection runs: read, parse, dispatch, write, watch deadlines.

use super::connection::{Connection, ReadResult, Wake};
use super::outbox::{Outbox, OutboxState};
use crate::protocol::{Command, Role, parse_frame};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Why a connection is being closed; logged once when it ends. The flag is set when the server
/// removed the client (idle, too slow, kicked, shutdown) rather than the client leaving or erring:
/// switchboard peers then get `BYE handle 1`.
#[derive(Debug)]
pub struct Disconnect(pub String, pub bool);

impl Disconnect {
    /// The client left or broke the protocol: peers see a plain `BYE`.
    pub fn new(reason: impl Into<String>) -> Disconnect {
        Disconnect(reason.into(), false)
    }

    /// The server removed the client (timeout, kick, shutdown): peers see `BYE handle 1`.
    pub fn by_server(reason: impl Into<String>) -> Disconnect {
        Disconnect(reason.into(), true)
    }
}

impl From<std::io::Error> for Disconnect {
    fn from(e: std::io::Error) -> Self {
        Disconnect(format!("i/o: {e}"), false)
    }
}

impl From<crate::storage::StorageGone> for Disconnect {
    fn from(_: crate::storage::StorageGone) -> Self {
        Disconnect("storage unavailable (shutting down)".into(), true)
    }
}

/// What every command handler returns: carry on, or end the connection for this reason (which
/// `?` on I/O and storage errors produces too).
pub type Handled = Result<(), Disconnect>;

/// A protocol role driven by `drive`.
#[allow(async_fn_in_trait)] // only implemented and driven inside this crate
pub(crate) trait Session {
    /// Which grammar the frame parser applies (payload verbs and sizes differ per role).
    const ROLE: Role;
    /// The connection the loop reads, writes and waits on.
    fn conn(&mut self) -> &mut Connection;
    /// The earliest moment `on_deadline` must run.
    fn deadline(&self) -> Instant;
    /// How long the client may leave our data unread before it is cut off.
    fn stall_timeout(&self) -> Duration;
    /// A recipient's outbox the last command filled past its high-water mark: stop reading from
    /// this client until it drains (see `Outbox::poll_room`).
    fn take_hold(&mut self) -> Option<Arc<Outbox>> {
        None
    }
    /// Takes the command by value so a session that boxes its handlers keeps it out of its own
    /// future.
    async fn handle(&mut self, cmd: Command<'_>) -> Handled;
    /// Called when `deadline` passes: the session says whether that ends it (and why).
    async fn on_deadline(&mut self) -> Handled;
}

/// Runs a session until it ends, returning why.
pub(crate) async fn drive<S: Session>(s: &mut S) -> Disconnect {
    let mut batches = 0u32;
    // Set while a recipient is congested; `unparsed` when complete commands wait in the buffer.
    let mut held: Option<Arc<Outbox>> = None;
    let mut unparsed = false;
    loop {
        if let Err(e) = s.conn().write_some() {
            return e.into();
        }
        match s.conn().outbox_state() {
            OutboxState::Open => {}
            OutboxState::Overflowed => {
                return Disconnect::by_server("outbound queue full: client is not reading");
            }
            OutboxState::Closing => {
                let _ = Box::pin(s.conn().flush()).await;
                return Disconnect::by_server("closed by the server");
            }
        }
        let stall_timeout = s.stall_timeout();
        let stalled = s.conn().stalled_since();
        if stalled.is_some_and(|t| t.elapsed() >= stall_timeout) {
            return Disconnect::by_server("client stopped reading");
        }
        if held.as_ref().is_some_and(|o| o.has_room()) {
            held = None;
        }
        let own_deadline = s.deadline();
        let deadline = stalled.map_or(own_deadline, |t| own_deadline.min(t + stall_timeout));
        let wake = if unparsed && held.is_none() {
            unparsed = false;
            Wake::Readable
        } else {
            s.conn().wait(deadline, held.as_deref()).await
        };
        match wake {
            Wake::Output => {}
            Wake::Deadline => {
                if Instant::now() >= own_deadline
                    && let Err(d) = Box::pin(s.on_deadline()).await
                {
                    return d;
                }
            }
            Wake::Readable => {
                let mut buf = s.conn().take_read_buf(S::ROLE);
                match s.conn().read_into(&mut buf) {
                    Err(e) => {
                        buf.give();
                        return e.into();
                    }
                    Ok(ReadResult::Eof) => {
                        buf.give();
                        return Disconnect::new("connection closed by client");
                    }
                    Ok(ReadResult::Data) => {}
                }
                let full = buf.is_full();
                let mut pos = 0;
                let mut outcome = Ok(());
                while pos < buf.len {
                    // Bound by `let` so the parse result is gone before the await: a temporary
                    // held across it would add its size to every session's future.
                    let (cmd, used) = match parse_frame(&buf.data[pos..buf.len], S::ROLE) {
                        Ok(Some(parsed)) => parsed,
                        Ok(None) => break,
                        Err(e) => {
                            outcome = Err(Disconnect::new(format!("protocol error: {e}")));
                            break;
                        }
                    };
                    pos += used;
                    if cmd.verb.is_empty() {
                        continue;
                    }
                    if let Err(d) = s.handle(cmd).await {
                        outcome = Err(d);
                        break;
                    }
                    if let Some(o) = s.take_hold() {
                        held = Some(o);
                        unparsed = pos < buf.len;
                        break;
                    }
                }
                buf.consume(pos);
                s.conn().put_read_buf(buf);
                if let Err(d) = outcome {
                    return d;
                }
                // A client that keeps our buffer full must not monopolise an executor thread.
                batches += 1;
                if full || batches.is_multiple_of(64) {
                    smol::future::yield_now().await;
                }
            }
        }
    }
}
