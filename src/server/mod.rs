//! Transport: listeners' sockets, connections and their buffers, the loop every session runs,
//! and the services every role shares (`hub`). Nothing here knows a role: the roles (`ns`, `sb`,
//! `http`) sit on top, and `node` binds the listeners and starts them.

pub mod admission;
pub mod bridged;
pub mod connection;
pub mod connections;
pub mod hub;
/// The machine's addresses; lives in `net` so that `config` and `dns` need not import `server`.
pub use crate::net::lan;
pub mod listen;
pub mod live;
pub mod logins;
pub mod loglimit;
pub mod mailbox;
pub mod outbox;
pub mod pool;
pub mod session;
pub mod throttle;
pub mod tickets;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Addresses the server actually bound (ports may have been 0).
#[derive(Clone, Copy, Debug)]
pub struct Bound {
    /// The dispatch/notification listener (`XFR` answers and tests connect here).
    pub ns: SocketAddr,
    /// The switchboard listener, named in `XFR SB` and `RNG`.
    pub sb: SocketAddr,
    /// The first HTTP listener.
    pub http: SocketAddr,
    /// The HTTPS listener, when TLS is configured.
    pub https: Option<SocketAddr>,
    /// The XMPP listener (`--xmpp-listen`), when it is on.
    pub xmpp: Option<SocketAddr>,
    /// The XMPP direct TLS listener (`--xmpp-tls-listen`), when it is on.
    pub xmpp_tls: Option<SocketAddr>,
}

/// Runs a connection so that a bug that panics ends that connection only: the worker thread and
/// every other client carry on. Also holds the connection's admission until it ends.
///
/// A hand-written future rather than an `async fn`: an async wrapper keeps its argument (the whole
/// connection future) in its own state next to the one it awaits, doubling every task's size.
pub(crate) fn isolated<F: Future<Output = ()>>(conn: F, admission: hub::Admission) -> Isolated<F> {
    Isolated { conn, admission }
}

/// The future `isolated` returns: the connection's future plus the admission it holds.
pub(crate) struct Isolated<F> {
    conn: F,
    admission: hub::Admission,
}

impl<F: Future<Output = ()>> Future for Isolated<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: `conn` is never moved out of `self` (structural pinning); `admission` is never
        // pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let conn = unsafe { Pin::new_unchecked(&mut this.conn) };
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| conn.poll(cx))) {
            Ok(poll) => poll,
            Err(_) => {
                log::error!(
                    "{}: connection handler panicked; connection dropped",
                    this.admission.ip()
                );
                Poll::Ready(())
            }
        }
    }
}
