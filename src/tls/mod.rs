//! HTTPS for the Passport hosts, in the server itself.
//!
//! One OpenSSL context (the vendored OpenSSL, built with SSL 3.0 and 3DES) serves two kinds of
//! client. Modern ones (TLS 1.2 and 1.3) get the default settings: TLS 1.2 or newer, ECDHE with
//! AES-GCM or ChaCha20 preferred by the server, and the SHA-256 certificate. A client hello whose
//! version is older than TLS 1.2 (Windows 98 to XP, whose Schannel offers RSA key exchange with
//! RC4 or 3DES, see docs/tls.md) switches that one connection to the legacy settings: SSL 3.0 and
//! TLS 1.0/1.1, security level 0, AES-CBC or 3DES-CBC with SHA-1, and the SHA-1 certificate.
//! A modern client that is tricked into an old hello is protected by TLS_FALLBACK_SCSV (OpenSSL
//! refuses the downgrade).

pub mod kit;
mod stream;

pub use stream::TlsStream;

use crate::config::Config;
use openssl::ssl::{
    ClientHelloResponse, SslContext, SslContextBuilder, SslMethod, SslMode, SslOptions, SslVersion,
};
use std::path::PathBuf;

/// TLS 1.2 suites, best first (TLS 1.3 uses OpenSSL's defaults).
const MODERN_CIPHERS: &str = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:\
ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:\
ECDHE-RSA-CHACHA20-POLY1305:AES128-GCM-SHA256:AES256-GCM-SHA384";

/// TLS 1.3 suites for long-lived connections (XMPP), best first; see `Acceptor::build`.
const LONG_TLS13_SUITES: &str =
    "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384";

/// SSL 3.0 / TLS 1.0 / TLS 1.1 suites, best first: forward-secret AES for the few old clients
/// that have it, plain RSA with AES (Windows Server 2003 with KB948963, old Java), and
/// TLS_RSA_WITH_3DES_EDE_CBC_SHA, the only suite Windows 98-XP and IE 5-6 share with us (RC4 is
/// forbidden by RFC 7465 and not built).
const LEGACY_CIPHERS: &str = "ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA:AES128-SHA:AES256-SHA:\
DES-CBC3-SHA:@SECLEVEL=0";

/// The HTTPS side's TLS settings and certificates.
pub struct Acceptor {
    ctx: SslContext,
}

fn is_legacy(v: SslVersion) -> bool {
    v == SslVersion::SSL3 || v == SslVersion::TLS1 || v == SslVersion::TLS1_1
}

impl Acceptor {
    /// Runs the server side of a handshake on `stream`.
    pub async fn accept(
        &self,
        stream: smol::Async<std::net::TcpStream>,
    ) -> std::io::Result<TlsStream> {
        TlsStream::accept(&self.ctx, stream).await
    }

    /// TLS 1.2+ with modern suites by default; a ClientHello whose version is older than TLS 1.2
    /// gets the legacy suites and, if `id` has one, the SHA-1 chain (old Windows cannot check
    /// SHA-256 signatures).
    pub fn new(id: kit::Identity) -> Result<Acceptor, openssl::error::ErrorStack> {
        Acceptor::build(id, false)
    }

    /// As `new`, for connections that stay open for hours (XMPP): no session cache and no
    /// resumption tickets, which a client that reconnects rarely would not use, and which cost
    /// memory for every connection.
    pub fn for_long_connections(id: kit::Identity) -> Result<Acceptor, openssl::error::ErrorStack> {
        Acceptor::build(id, true)
    }

    fn build(id: kit::Identity, long: bool) -> Result<Acceptor, openssl::error::ErrorStack> {
        let mut b = SslContextBuilder::new(SslMethod::tls_server())?;
        b.set_min_proto_version(Some(SslVersion::TLS1_2))?;
        b.set_cipher_list(MODERN_CIPHERS)?;
        b.set_options(
            SslOptions::CIPHER_SERVER_PREFERENCE
                | SslOptions::NO_COMPRESSION
                | SslOptions::NO_RENEGOTIATION,
        );
        // Idle keep-alive connections give their record buffers back.
        b.set_mode(
            SslMode::RELEASE_BUFFERS
                | SslMode::ACCEPT_MOVING_WRITE_BUFFER
                | SslMode::ENABLE_PARTIAL_WRITE,
        );
        if long {
            // ChaCha20-Poly1305 first for TLS 1.3: its per-direction state is smaller than
            // AES-256-GCM's, and SHA-256 keeps smaller handshake digests than SHA-384, for as
            // long as the connection lives (0.4 KiB per connection in all, docs/xmpp.md
            // "Memory"); it is also the faster of the two on CPUs without AES instructions (the
            // Pi). The server's preference decides (CIPHER_SERVER_PREFERENCE).
            b.set_ciphersuites(LONG_TLS13_SUITES)?;
            b.set_session_cache_mode(openssl::ssl::SslSessionCacheMode::OFF);
            b.set_options(SslOptions::NO_TICKET);
            b.set_num_tickets(0)?;
        } else {
            b.set_session_cache_size(crate::limits::TLS_SESSION_CACHE as i32);
        }
        b.set_certificate(&id.modern[0])?;
        for c in &id.modern[1..] {
            b.add_extra_chain_cert(c.clone())?;
        }
        b.set_private_key(&id.key)?;
        b.check_private_key()?;
        // The ECDSA certificate beside the RSA one (OpenSSL keeps one per key type and picks per
        // client): TLS 1.3 clients and TLS 1.2 ones offering ECDHE-ECDSA get it, and the
        // handshake's signature costs a fraction of RSA-2048's. The legacy suites below are all
        // RSA, so Windows 98-XP keep the RSA certificate. Same CA: the extra chain serves both.
        if let Some((key, chain)) = &id.ecdsa {
            b.set_certificate(&chain[0])?;
            b.set_private_key(key)?;
            b.check_private_key()?;
        }
        let legacy_cert = id.legacy.map(|mut chain| chain.remove(0));
        b.set_client_hello_callback(move |ssl, _alert| {
            if ssl.client_hello_legacy_version().is_some_and(is_legacy) {
                ssl.set_security_level(0);
                ssl.set_min_proto_version(Some(SslVersion::SSL3))?;
                ssl.set_cipher_list(LEGACY_CIPHERS)?;
                if let Some(cert) = &legacy_cert {
                    ssl.set_certificate(cert)?;
                }
            }
            Ok(ClientHelloResponse::SUCCESS)
        });
        Ok(Acceptor { ctx: b.build() })
    }
}

/// The directory of the certificate kit: `--tls-dir`, else the database's directory.
pub fn tls_dir(config: &Config) -> PathBuf {
    config
        .tls_dir
        .clone()
        .unwrap_or_else(|| match config.db.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        })
}

/// Loads the configured certificate, or the kit (creating it on first start).
pub fn prepare(config: &Config) -> Result<Acceptor, Box<dyn std::error::Error>> {
    prepare_with(config, &[], false)
}

/// The XMPP side's acceptor: the kit's server certificate must also name `domains` (those of the
/// accounts, for XMPP clients that check it against their JID), and is re-issued from the same CA
/// when one is missing; long-lived connections keep no session cache or tickets.
pub fn prepare_for_xmpp(
    config: &Config,
    domains: &[String],
) -> Result<Acceptor, Box<dyn std::error::Error>> {
    prepare_with(config, domains, true)
}

fn prepare_with(
    config: &Config,
    required: &[String],
    long_lived: bool,
) -> Result<Acceptor, Box<dyn std::error::Error>> {
    let id = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => {
            log::info!(
                "https: certificate {} key {}",
                cert.display(),
                key.display()
            );
            kit::load_files(cert, key)?
        }
        (None, None) => {
            let dir = tls_dir(config);
            let mut extra: Vec<String> = config.public_host.iter().cloned().collect();
            extra.extend(required.iter().cloned());
            let (id, action) = kit::load_or_create(&dir, &kit::default_names(&extra), required)?;
            match action {
                kit::Action::CreatedAll => log::info!(
                    "https: created a private CA and server certificates in {}; client PCs \
                     install the CA from /msnpd-ca.cer on the HTTP port",
                    dir.display()
                ),
                kit::Action::RenewedServer => {
                    log::info!("https: issued new server certificates in {}", dir.display())
                }
                kit::Action::Reused => log::info!("https: certificates from {}", dir.display()),
            }
            id
        }
        _ => return Err("--tls-cert and --tls-key must be given together".into()),
    };
    Ok(if long_lived {
        Acceptor::for_long_connections(id)?
    } else {
        Acceptor::new(id)?
    })
}

/// `GET /msnpd-ca.cer` and `/msnpd-ca.pem`: the kit's CA certificate for client PCs, read from
/// the kit directory on each request (so `msnpd tls init --new-ca` takes effect at once).
pub fn ca_download(config: &Config, der: bool) -> Option<Vec<u8>> {
    let p = kit::Paths::new(&tls_dir(config));
    std::fs::read(if der { p.ca_cer } else { p.ca_pem }).ok()
}
