//! The XMPP front door (issue 20, docs/xmpp.md): modern clients (Conversations, Gajim, Dino,
//! profanity) sign in with their MSN account; the handle is the JID.
//!
//! One file per job: `xml` (framing the stream, parsing a stanza, writing XML), `sasl` (PLAIN,
//! SCRAM-SHA-1/-256), `session` (one connection: STARTTLS, SASL, bind, the stanza loop, stream
//! management, stream errors), `iq` (ping, disco, roster, vCard), `router` (the actor that owns
//! which XMPP resources are bound and routes presence and messages between them).

pub mod bridge;
pub mod iq;
pub mod router;
pub mod sasl;
pub mod session;
pub mod xml;

use crate::server::hub::Hub;
use crate::tls::Acceptor;
use smol::Async;
use std::net::TcpListener;
use std::sync::Arc;

/// The XMPP role: the shared services, the TLS settings and the router.
pub struct Xmpp {
    /// Configuration, storage, logins throttle, admission.
    pub hub: Arc<Hub>,
    /// STARTTLS uses the project's certificate kit.
    pub tls: Arc<Acceptor>,
    /// Bound resources and their routes.
    pub router: router::Router,
    /// This node's MSN listeners on loopback, which the sessions' bridges sign in to
    /// (`bridge.rs`); `None` leaves XMPP users among themselves.
    pub msn: Option<bridge::MsnAddrs>,
    /// The executor the bridges' tasks run on.
    pub ex: Arc<smol::Executor<'static>>,
}

/// Starts the XMPP role on its bound listeners (STARTTLS, and direct TLS, XEP-0368): prepares
/// the certificate kit (naming the domains the accounts use), the router actor and the accept
/// loops.
pub fn start(
    hub: &Arc<Hub>,
    ex: &Arc<smol::Executor<'static>>,
    starttls: Option<Async<TcpListener>>,
    direct_tls: Option<Async<TcpListener>>,
    msn: Option<bridge::MsnAddrs>,
) -> Result<Arc<Xmpp>, Box<dyn std::error::Error>> {
    let storage = hub.storage.clone();
    let domains = smol::block_on(storage.run(|db| db.account_domains()))
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    let tls = Arc::new(crate::tls::prepare_for_xmpp(&hub.config, &domains)?);
    let role = Arc::new(Xmpp {
        hub: hub.clone(),
        tls,
        router: router::Router::start(ex),
        msn,
        ex: ex.clone(),
    });
    log::info!(
        "xmpp: domains served: {}",
        if domains.is_empty() {
            "none yet (those of the accounts)".to_string()
        } else {
            domains.join(", ")
        }
    );
    for (listener, direct) in [(starttls, false), (direct_tls, true)] {
        let Some(listener) = listener else { continue };
        log::info!(
            "xmpp{} listening on {}",
            if direct { " (direct TLS)" } else { "" },
            listener.get_ref().local_addr()?
        );
        ex.spawn(accept_loop(role.clone(), listener, ex.clone(), direct))
            .detach();
    }
    Ok(role)
}

async fn accept_loop(
    role: Arc<Xmpp>,
    listener: Async<TcpListener>,
    ex: Arc<smol::Executor<'static>>,
    direct_tls: bool,
) {
    loop {
        let (stream, peer, admission) = role.hub.accept_admitted(&listener, false, "xmpp").await;
        ex.spawn(crate::server::isolated(
            session::serve(role.clone(), stream, peer, direct_tls),
            admission,
        ))
        .detach();
    }
}
