//! The one table of what the HTTP side answers: (path, methods, handler), looked up by the
//! lower-case path with its leading slashes folded (libpurple asks for `//RST.srf` and
//! `//abservice/...`). A new service, e.g. a SOAP endpoint, is one line of `ROUTES`.

use super::unserved::{self, Service};
use super::{Http, Request, Response, abservice, gateway, passport, register, site, status};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// What a handler returns: requests are few and carry whole bodies, so one boxed future per
/// request costs nothing that matters.
pub type Reply<'a> = Pin<Box<dyn Future<Output = Response> + Send + 'a>>;

/// A handler: the request and the HTTP role's state in, a response out.
pub type Handler = for<'a> fn(&'a Arc<Http>, &'a Request) -> Reply<'a>;

/// What a request whose method the route does not take gets.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum WrongMethod {
    /// 405 with an `Allow` header: public paths that say what they take.
    NotAllowed,
    /// 404, as for an unknown path: the operator's and the gateway's paths reveal nothing.
    NotFound,
}

/// One row of the table.
pub struct Route {
    /// Lower-case path, one leading slash.
    pub path: &'static str,
    /// The methods taken, as an `Allow` header value (`"GET, HEAD"`).
    pub allow: &'static str,
    /// The answer to another method.
    pub wrong_method: WrongMethod,
    /// Answers the request.
    pub handler: Handler,
}

const fn public(path: &'static str, allow: &'static str, handler: Handler) -> Route {
    Route {
        path,
        allow,
        wrong_method: WrongMethod::NotAllowed,
        handler,
    }
}

const fn hidden(path: &'static str, allow: &'static str, handler: Handler) -> Route {
    Route {
        path,
        allow,
        wrong_method: WrongMethod::NotFound,
        handler,
    }
}

/// Every path the HTTP side answers; anything else is 404.
pub const ROUTES: &[Route] = &[
    // The operator's loopback status (ops, `msnpd status`).
    hidden("/status", "GET", |h, r| {
        Box::pin(status::status_endpoint(h, r))
    }),
    // The HTTP gateway of MSN 6+ behind a proxy.
    hidden("/gateway/gateway.dll", "POST", |h, r| {
        Box::pin(gateway::handle(h, r))
    }),
    // The kit's CA certificate for client PCs, DER and PEM.
    hidden("/msnpd-ca.cer", "GET, HEAD", |h, _| {
        Box::pin(std::future::ready(super::ca_download(h, true)))
    }),
    hidden("/msnpd-ca.pem", "GET, HEAD", |h, _| {
        Box::pin(std::future::ready(super::ca_download(h, false)))
    }),
    // Passport: nexus, 1.4 login, RST SOAP login, MsgrConfig.
    public("/rdr/pprdr.asp", "GET", |h, r| {
        Box::pin(std::future::ready(passport::nexus(h, r)))
    }),
    public("/login2.srf", "GET", |h, r| Box::pin(passport::login(h, r))),
    public("/login.srf", "GET", |h, r| Box::pin(passport::login(h, r))),
    public("/ppsecure/login2.srf", "GET", |h, r| {
        Box::pin(passport::login(h, r))
    }),
    public("/rst.srf", "POST", |h, r| Box::pin(passport::rst(h, r))),
    public("/ppsecure/rst.srf", "POST", |h, r| {
        Box::pin(passport::rst(h, r))
    }),
    public("/config/msgrconfig.asmx", "GET, POST", |_, r| {
        Box::pin(std::future::ready(passport::msgr_config(r)))
    }),
    // WLM 8.0-2009 contact lists (SOAP): the address book and the sharing service.
    public("/abservice/abservice.asmx", "POST", |h, r| {
        Box::pin(abservice::address_book(h, r))
    }),
    public("/abservice/sharingservice.asmx", "POST", |h, r| {
        Box::pin(abservice::sharing_service(h, r))
    }),
    // WLM services without data here: a SOAP fault at once (http/unserved.rs).
    public("/storageservice/schematizedstore.asmx", "POST", |h, r| {
        Box::pin(unserved::answer(h, r, Service::Storage))
    }),
    public("/oimws/oim.asmx", "POST", |h, r| {
        Box::pin(unserved::answer(h, r, Service::OfflineMessages))
    }),
    public("/rsi/rsi.asmx", "POST", |h, r| {
        Box::pin(unserved::answer(h, r, Service::Rsi))
    }),
    // The page, its downloads and the registration form.
    public("/", "GET, HEAD", |h, r| Box::pin(site::page(h, r))),
    public("/index.html", "GET, HEAD", |h, r| {
        Box::pin(site::page(h, r))
    }),
    public("/hosts.txt", "GET, HEAD", |h, r| {
        Box::pin(site::hosts(h, r))
    }),
    public("/favicon.ico", "GET, HEAD", |_, r| {
        Box::pin(std::future::ready(site::favicon_ico(r)))
    }),
    public("/healthz", "GET, HEAD", |h, r| {
        Box::pin(site::healthz(h, r))
    }),
    public("/register", "GET, HEAD, POST", |h, r| {
        Box::pin(register::route(h, r))
    }),
];

/// `path` as the table spells it: lower case, and `//x` (libpurple) the same as `/x`.
pub fn normalize(path: &str) -> String {
    let rest = path.trim_start_matches('/');
    let mut out = String::with_capacity(rest.len() + 1);
    out.push('/');
    out.push_str(rest);
    out.make_ascii_lowercase();
    out
}

/// The row for `path` (already normalized).
pub fn find(path: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.path == path)
}

/// Answers one request from the table.
pub async fn route(hub: &Arc<Http>, req: &Request) -> Response {
    let path = normalize(&req.path);
    let Some(route) = find(&path) else {
        return not_found();
    };
    if !route.allow.split(", ").any(|m| m == req.method) {
        return match route.wrong_method {
            WrongMethod::NotAllowed => method_not_allowed(route.allow),
            WrongMethod::NotFound => not_found(),
        };
    }
    (route.handler)(hub, req).await
}

fn not_found() -> Response {
    Response::new("404 Not Found").body("text/plain", "not found\n")
}

/// 405 for a known path, with the methods it takes.
pub fn method_not_allowed(allow: &'static str) -> Response {
    Response::new("405 Method Not Allowed")
        .header("Allow", allow)
        .body("text/plain", "method not allowed\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_fold_case_and_leading_slashes() {
        assert_eq!(normalize("//RST.srf"), "/rst.srf");
        assert_eq!(
            normalize("///abservice/abservice.asmx"),
            "/abservice/abservice.asmx"
        );
        assert_eq!(normalize("/"), "/");
        assert_eq!(normalize(""), "/");
        assert!(find(&normalize("//RST.srf")).is_some());
        assert!(find("/nothing-here").is_none());
    }

    #[test]
    fn every_path_is_listed_once_in_its_spelling() {
        for (i, r) in ROUTES.iter().enumerate() {
            assert_eq!(normalize(r.path), r.path, "{} is not normalized", r.path);
            assert!(
                ROUTES[i + 1..].iter().all(|o| o.path != r.path),
                "{} twice",
                r.path
            );
            assert!(!r.allow.is_empty());
        }
    }
}
