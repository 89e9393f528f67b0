//! `GET /status`, the endpoint `msnpd status` reads (see `ops`).

use super::{Http, Request, Response};

/// `GET /status`: who is online, for `msnpd status`. Anyone else gets the same 404 as an unknown
/// path, so the endpoint's existence reveals nothing.
pub async fn status_endpoint(hub: &Http, req: &Request) -> Response {
    let token_ok = req
        .header(crate::ops::STATUS_TOKEN_HEADER)
        .is_some_and(|t| crate::auth::digest_eq(t, &hub.status_token));
    // From this machine only: loopback, or one of its own addresses (a listener bound to a LAN
    // address is reached from the host through that address).
    let local = |ip: std::net::IpAddr| {
        ip.is_loopback()
            || matches!(ip, std::net::IpAddr::V4(v4) if crate::net::lan::local_ipv4().contains(&v4))
    };
    if !token_ok || !local(req.peer.ip()) {
        return Response::new("404 Not Found").body("text/plain", "not found\n");
    }
    let mut handles: Vec<String> = match hub.ns.directory.list().await {
        Ok(list) => list.into_iter().map(|u| u.handle).collect(),
        Err(_) => Vec::new(),
    };
    handles.sort();
    let mut body = format!("online {}\n", handles.len());
    for h in handles {
        body.push_str(&h);
        body.push('\n');
    }
    // After the handles: the password checks so far and their CPU time, which `msnpd-load login`
    // subtracts from the server's CPU to get a login's cost beyond the hash.
    let (hashes, cpu) = crate::auth::password_hash_cpu();
    body.push_str(&format!(
        "password-hashes {hashes}\npassword-hash-cpu-us {}\n",
        cpu.as_micros()
    ));
    Response::new("200 OK").body("text/plain; charset=utf-8", body)
}
