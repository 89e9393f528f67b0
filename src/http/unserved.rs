//! The WLM web services msnpd does not keep data for: the roaming profile
//! (`/storageservice/SchematizedStore.asmx` on storage.msn.com: display name, personal message
//! and picture kept on the server, WLM 8.5+), offline messages sent (`/OimWS/oim.asmx` on
//! ows.messenger.msn.com) and read (`/rsi/rsi.asmx` on rsi.hotmail.com). Each answers a SOAP 1.1
//! fault at once (`500`, `soap:Server`), so that a client never waits on a connection nobody
//! answers: WLM then keeps its profile locally and says an offline message could not be sent;
//! libpurple logs the failure and goes on. docs/wlm.md says what each client shows.

use super::{Http, Request, Response};
use std::sync::Arc;

/// Which service a request was for (named in the fault and the log line).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// The roaming profile.
    Storage,
    /// Sending an offline message.
    OfflineMessages,
    /// Reading offline messages.
    Rsi,
}

impl Service {
    fn what(self) -> &'static str {
        match self {
            Service::Storage => "roaming profiles are not kept on this server",
            Service::OfflineMessages => "offline messages are not kept on this server",
            Service::Rsi => "no offline messages are stored on this server",
        }
    }
}

/// The fault document for `service`.
pub fn fault(service: Service) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>soap:Server</faultcode><faultstring>{}</faultstring><detail><errorcode xmlns="http://www.msn.com/webservices/storage/2008">ServiceUnavailable</errorcode></detail></soap:Fault></soap:Body></soap:Envelope>"#,
        service.what()
    )
}

/// Answers any request to one of these services with its fault.
pub async fn answer(_: &Arc<Http>, r: &Request, service: Service) -> Response {
    log::debug!(
        "http {}: {service:?} call ({} bytes) answered with a fault",
        r.peer,
        r.body.len()
    );
    Response::new("500 Internal Server Error").body("text/xml; charset=utf-8", fault(service))
}
