//! The certificate kit: a private CA and the server certificates it signs, kept in one directory.
//!
//! Files (see docs/tls.md for why each choice):
//! - `ca.pem` / `ca.cer`: the CA certificate (PEM and DER) that client PCs install;
//! - `ca.key`: the CA's private key (0600), needed only to issue new server certificates;
//! - `server.pem`: the server certificate signed with SHA-256, then the CA (for TLS 1.2+ clients);
//! - `server-legacy.pem`: the same names and key signed with SHA-1, then the CA, for SSL 3.0 and
//!   TLS 1.0 clients (Windows 98/2000/XP before SP3 cannot verify SHA-256 signatures);
//! - `server.key`: the server's private key (0600), shared by both server certificates.
//! - `server-ec.pem` / `server-ec.key`: the same names with an ECDSA P-256 key (SHA-256, then the
//!   CA), offered beside the RSA certificate to TLS 1.2+ clients that take ECDSA: its signature
//!   costs the server about a fiftieth of an RSA-2048 one per full handshake. Kits made before it
//!   existed get it from their CA at the next start (if the directory is writable; else the
//!   server runs with RSA alone).

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509, X509Builder, X509NameBuilder};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The host names MSN Messenger 5.0-7.5 and Windows Live Messenger 8 reach over HTTPS, plus the
/// Messenger hosts a DNS or hosts-file redirect points at us (so one certificate covers every name
/// that may resolve to this server). docs/tls.md lists where each is used.
pub const SERVICE_NAMES: &[&str] = &[
    "nexus.passport.com",
    "login.passport.com",
    "loginnet.passport.com",
    "login.passport.net",
    "loginnet.passport.net",
    "login.live.com",
    "messenger.hotmail.com",
    "gateway.messenger.hotmail.com",
    "config.messenger.msn.com",
    "messenger.msn.com",
    "ows.messenger.msn.com",
    "rsi.hotmail.com",
    "contacts.msn.com",
    "omega.contacts.msn.com",
    "storage.msn.com",
    // Windows Live Messenger 8.x-2009 and libpurple (MSNP13-18): the address book and sharing
    // service, the roaming profile, the SSO secure host (../shared WLM.md "Host names").
    "byrdr.omega.contacts.msn.com",
    "local-bay.contacts.msn.com",
    "storage.live.com",
    "tkrdr.storage.msn.com",
    "messengersecure.live.com",
];

/// RSA modulus size: every Schannel since Windows 98 accepts 2048 bits, and a Raspberry Pi does a
/// few hundred private-key operations a second with it.
pub(crate) const RSA_BITS: u32 = 2048;
/// The CA is installed once per PC by hand: make it outlive the hardware. Ends before 2050 so
/// that it is written as UTCTime, which every CryptoAPI version parses.
pub(crate) const CA_DAYS: u32 = 20 * 365;
/// Server certificates: 825 days is the longest that current Apple systems accept even from a
/// private CA; msnpd re-issues them from the same CA when fewer than `RENEW_DAYS` are left.
pub(crate) const SERVER_DAYS: u32 = 825;
/// Days of validity left below which a server certificate is re-issued at start: a month leaves
/// room for a server that restarts rarely.
pub(crate) const RENEW_DAYS: u32 = 30;

/// The kit's file names in one place (the module documentation says what each file is for), so
/// that the code writing them, the code loading them and the CA download agree.
pub(crate) struct Paths {
    /// `ca.pem`: the CA certificate, PEM.
    pub ca_pem: PathBuf,
    /// `ca.cer`: the same certificate, DER, the form Windows installs with a double click.
    pub ca_cer: PathBuf,
    /// `ca.key`: the CA's private key (0600).
    pub ca_key: PathBuf,
    /// `server.pem`: SHA-256 server certificate, then the CA.
    pub server_pem: PathBuf,
    /// `server-legacy.pem`: SHA-1 server certificate, then the CA, for SSL 3.0 / TLS 1.0 clients.
    pub server_legacy_pem: PathBuf,
    /// `server.key`: the server's private key (0600).
    pub server_key: PathBuf,
    /// `server-ec.pem`: the ECDSA P-256 server certificate (SHA-256), then the CA.
    pub server_ec_pem: PathBuf,
    /// `server-ec.key`: its private key (0600).
    pub server_ec_key: PathBuf,
}

impl Paths {
    /// The file names of the kit in `dir` (nothing is read or created).
    pub fn new(dir: &Path) -> Paths {
        Paths {
            ca_pem: dir.join("ca.pem"),
            ca_cer: dir.join("ca.cer"),
            ca_key: dir.join("ca.key"),
            server_pem: dir.join("server.pem"),
            server_legacy_pem: dir.join("server-legacy.pem"),
            server_key: dir.join("server.key"),
            server_ec_pem: dir.join("server-ec.pem"),
            server_ec_key: dir.join("server-ec.key"),
        }
    }
}

/// A server key with its chains: `modern` for TLS 1.2+ handshakes, `legacy` (if different) for
/// older ones. Each chain starts with the server certificate.
pub struct Identity {
    /// The server's private key, shared by both chains.
    pub key: PKey<Private>,
    /// The chain for TLS 1.2+ (SHA-256 signatures).
    pub modern: Vec<X509>,
    /// The chain for SSL 3.0-TLS 1.1 (SHA-1), or `None` to use `modern` for every version
    /// (an operator's own certificate).
    pub legacy: Option<Vec<X509>>,
    /// An ECDSA key and its chain, offered beside `modern` to TLS 1.2+ clients that accept it
    /// (cheaper handshakes); `None` for an operator's own certificate.
    pub ecdsa: Option<(PKey<Private>, Vec<X509>)>,
}

/// Errors of the kit, already carrying the file they concern; they end up in one log or
/// command-line message, so a boxed error serves.
pub type KitError = Box<dyn std::error::Error>;

fn err(path: &Path, what: &str, e: impl std::fmt::Display) -> KitError {
    format!("{}: {what}: {e}", path.display()).into()
}

/// The names a new server certificate gets: the service names, this machine's host name, its
/// addresses, loopback, and the extra names given (e.g. `--public-host`, `--name`).
pub fn default_names(extra: &[String]) -> Vec<String> {
    let mut names: Vec<String> = SERVICE_NAMES.iter().map(|s| s.to_string()).collect();
    names.extend(extra.iter().cloned());
    if let Some(h) = host_name() {
        names.push(h);
    }
    names.push("localhost".into());
    names.push("127.0.0.1".into());
    names.extend(
        crate::server::lan::local_ipv4()
            .iter()
            .map(|ip| ip.to_string()),
    );
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| !n.is_empty() && seen.insert(n.to_ascii_lowercase()));
    names
}

fn host_name() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let h = std::str::from_utf8(&buf[..end]).ok()?.trim().to_string();
    // A DNS name only: anything else would make an invalid dNSName.
    let ok = !h.is_empty()
        && h.len() <= 253
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    ok.then_some(h)
}

fn serial() -> Result<Asn1Integer, KitError> {
    let mut bn = BigNum::new()?;
    bn.rand(127, MsbOption::MAYBE_ZERO, false)?;
    Ok(bn.to_asn1_integer()?)
}

fn not_before() -> Result<Asn1Time, KitError> {
    // A day back, for client PCs whose clocks run slow.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    // time_t is 32 bits on armv7 and ARMv6: past 2038 fall back to "now". The type is inferred
    // from `from_unix`, as musl's `libc::time_t` alias is deprecated (it is to become 64 bits).
    #[allow(clippy::useless_conversion)] // i64 to i64 where time_t is 64 bits
    let t = (now - 86_400).try_into();
    match t {
        Ok(t) => Ok(Asn1Time::from_unix(t)?),
        Err(_) => Ok(Asn1Time::days_from_now(0)?),
    }
}

fn new_key() -> Result<PKey<Private>, KitError> {
    Ok(PKey::from_rsa(Rsa::generate(RSA_BITS)?)?)
}

/// An ECDSA key on P-256, the curve every TLS client with ECDSA supports (Windows Vista's
/// Schannel onwards, OpenSSL, GnuTLS, browsers).
fn new_ec_key() -> Result<PKey<Private>, KitError> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    Ok(PKey::from_ec_key(EcKey::generate(&group)?)?)
}

fn new_ca(key: &PKey<Private>) -> Result<X509, KitError> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::ORGANIZATIONNAME, "msnpd")?;
    let cn = match host_name() {
        Some(h) => format!("msnpd private CA ({h})"),
        None => "msnpd private CA".to_string(),
    };
    name.append_entry_by_nid(Nid::COMMONNAME, &cn)?;
    let name = name.build();
    let mut b = X509Builder::new()?;
    b.set_version(2)?;
    let serial = serial()?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(&name)?;
    b.set_issuer_name(&name)?;
    b.set_pubkey(key)?;
    let (from, until) = (not_before()?, Asn1Time::days_from_now(CA_DAYS)?);
    b.set_not_before(&from)?;
    b.set_not_after(&until)?;
    b.append_extension(BasicConstraints::new().critical().ca().pathlen(0).build()?)?;
    b.append_extension(
        KeyUsage::new()
            .critical()
            .key_cert_sign()
            .crl_sign()
            .build()?,
    )?;
    let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(None, None))?;
    b.append_extension(ski)?;
    // SHA-1 on the CA's own signature: nobody verifies a trust anchor's self-signature (OpenSSL,
    // GnuTLS, rustls and CryptoAPI all skip it), but Windows 98-XP SP2 would show an installed
    // SHA-256 root as damaged.
    b.sign(key, MessageDigest::sha1())?;
    Ok(b.build())
}

fn new_server_cert(
    ca: &X509,
    ca_key: &PKey<Private>,
    key: &PKey<Private>,
    names: &[String],
    digest: MessageDigest,
) -> Result<X509, KitError> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::ORGANIZATIONNAME, "msnpd")?;
    // Clients since Windows 98's CryptoAPI 2 match the subjectAltName; the common name is the
    // first name for the oldest ones.
    name.append_entry_by_nid(Nid::COMMONNAME, &names[0])?;
    let name = name.build();
    let mut b = X509Builder::new()?;
    b.set_version(2)?;
    let serial = serial()?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(&name)?;
    b.set_issuer_name(ca.subject_name())?;
    b.set_pubkey(key)?;
    let (from, until) = (not_before()?, Asn1Time::days_from_now(SERVER_DAYS)?);
    b.set_not_before(&from)?;
    b.set_not_after(&until)?;
    b.append_extension(BasicConstraints::new().critical().build()?)?;
    // keyEncipherment: SSL 3.0/TLS 1.0 RSA key exchange (RSA keys only); digitalSignature:
    // ECDHE and TLS 1.3.
    let mut usage = KeyUsage::new();
    usage.critical().digital_signature();
    if key.id() == openssl::pkey::Id::RSA {
        usage.key_encipherment();
    }
    b.append_extension(usage.build()?)?;
    b.append_extension(ExtendedKeyUsage::new().server_auth().build()?)?;
    let mut san = SubjectAlternativeName::new();
    for n in names {
        if n.parse::<std::net::IpAddr>().is_ok() {
            san.ip(n);
        } else {
            san.dns(n);
        }
    }
    let san = san.build(&b.x509v3_context(Some(ca), None))?;
    b.append_extension(san)?;
    let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(Some(ca), None))?;
    b.append_extension(ski)?;
    let aki = AuthorityKeyIdentifier::new()
        .keyid(true)
        .build(&b.x509v3_context(Some(ca), None))?;
    b.append_extension(aki)?;
    b.sign(ca_key, digest)?;
    Ok(b.build())
}

/// Writes `data` to `path` atomically with `mode` (0600 for keys, 0644 for certificates).
fn write_file(path: &Path, data: &[u8], mode: u32) -> Result<(), KitError> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(|e| err(path, "cannot write", e))?;
    // Errors name the file the operator knows (`ca.pem`), not the temporary one beside it.
    f.write_all(data)
        .and_then(|()| f.sync_all())
        .map_err(|e| err(path, "cannot write", e))?;
    std::fs::rename(&tmp, path).map_err(|e| err(path, "cannot write", e))?;
    Ok(())
}

fn read_chain(path: &Path) -> Result<Vec<X509>, KitError> {
    let pem = std::fs::read(path).map_err(|e| err(path, "cannot read", e))?;
    let chain = X509::stack_from_pem(&pem).map_err(|e| err(path, "not a PEM certificate", e))?;
    if chain.is_empty() {
        return Err(err(path, "no certificate", "empty file"));
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PKey<Private>, KitError> {
    let pem = std::fs::read(path).map_err(|e| err(path, "cannot read", e))?;
    PKey::private_key_from_pem(&pem).map_err(|e| err(path, "not a PEM private key", e))
}

fn chain_pem(chain: &[&X509]) -> Result<Vec<u8>, KitError> {
    let mut out = Vec::new();
    for c in chain {
        out.extend_from_slice(&c.to_pem()?);
    }
    Ok(out)
}

/// Creates a new CA (replacing any) in `dir`.
fn create_ca(p: &Paths) -> Result<(X509, PKey<Private>), KitError> {
    let key = new_key()?;
    let ca = new_ca(&key)?;
    write_file(&p.ca_key, &key.private_key_to_pem_pkcs8()?, 0o600)?;
    write_file(&p.ca_pem, &ca.to_pem()?, 0o644)?;
    write_file(&p.ca_cer, &ca.to_der()?, 0o644)?;
    Ok((ca, key))
}

/// Issues both server certificates for `names` with a new server key.
fn issue_server(
    p: &Paths,
    ca: &X509,
    ca_key: &PKey<Private>,
    names: &[String],
) -> Result<(), KitError> {
    let key = new_key()?;
    let modern = new_server_cert(ca, ca_key, &key, names, MessageDigest::sha256())?;
    let legacy = new_server_cert(ca, ca_key, &key, names, MessageDigest::sha1())?;
    write_file(&p.server_key, &key.private_key_to_pem_pkcs8()?, 0o600)?;
    write_file(&p.server_pem, &chain_pem(&[&modern, ca])?, 0o644)?;
    write_file(&p.server_legacy_pem, &chain_pem(&[&legacy, ca])?, 0o644)?;
    issue_server_ec(p, ca, ca_key, names)
}

/// Issues the ECDSA server certificate for `names` with a new key.
fn issue_server_ec(
    p: &Paths,
    ca: &X509,
    ca_key: &PKey<Private>,
    names: &[String],
) -> Result<(), KitError> {
    let key = new_ec_key()?;
    let cert = new_server_cert(ca, ca_key, &key, names, MessageDigest::sha256())?;
    write_file(&p.server_ec_key, &key.private_key_to_pem_pkcs8()?, 0o600)?;
    write_file(&p.server_ec_pem, &chain_pem(&[&cert, ca])?, 0o644)?;
    Ok(())
}

fn expires_within(cert: &X509, days: u32) -> bool {
    Asn1Time::days_from_now(days).is_ok_and(|limit| cert.not_after() < limit)
}

/// What `load_or_create` did, for the log.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// The kit was complete and valid; nothing was written.
    Reused,
    /// There was no kit: a new CA and server certificates were written.
    CreatedAll,
    /// The server certificates were re-issued from the existing CA (missing or expiring).
    RenewedServer,
}

/// The kit in `dir`: reused if complete, created if absent, server certificates re-issued from
/// the existing CA when missing or about to expire. A CA certificate without its key (or the
/// other way round) is an error rather than a silent replacement: clients trust that CA.
/// `required` names (the XMPP domains) must be in the current certificate, else it is re-issued.
pub(crate) fn load_or_create(
    dir: &Path,
    names: &[String],
    required: &[String],
) -> Result<(Identity, Action), KitError> {
    let p = Paths::new(dir);
    std::fs::create_dir_all(dir).map_err(|e| err(dir, "cannot create directory", e))?;
    let mut action = Action::Reused;
    let (ca, ca_key) = match (p.ca_pem.exists(), p.ca_key.exists()) {
        (false, false) => {
            action = Action::CreatedAll;
            create_ca(&p)?
        }
        (true, true) => (read_chain(&p.ca_pem)?.remove(0), read_key(&p.ca_key)?),
        _ => {
            return Err(format!(
                "{}: ca.pem and ca.key must both exist (or neither); run `msnpd tls init --new-ca` to start over",
                dir.display()
            )
            .into());
        }
    };
    let usable = |path: &Path| read_chain(path).is_ok_and(|c| !expires_within(&c[0], RENEW_DAYS));
    let names_required = |path: &Path| {
        read_chain(path).is_ok_and(|c| {
            let have = cert_names(&c[0]);
            required
                .iter()
                .all(|r| have.iter().any(|h| h.eq_ignore_ascii_case(r)))
        })
    };
    let complete = p.server_key.exists()
        && usable(&p.server_pem)
        && usable(&p.server_legacy_pem)
        && names_required(&p.server_pem);
    if !complete || action == Action::CreatedAll {
        issue_server(&p, &ca, &ca_key, names)?;
        if action == Action::Reused {
            action = Action::RenewedServer;
        }
    } else if !(p.server_ec_key.exists()
        && usable(&p.server_ec_pem)
        && names_required(&p.server_ec_pem))
    {
        // A kit from before the ECDSA certificate (or with one expiring): only that one is
        // issued, the RSA certificates the clients have seen stay. It is an optimisation, so a
        // kit directory the server cannot write to keeps working with RSA alone.
        match issue_server_ec(&p, &ca, &ca_key, names) {
            Ok(()) => action = Action::RenewedServer,
            Err(e) => log::warn!("https: no ECDSA certificate, RSA only: {e}"),
        }
    }
    Ok((load_kit(&p)?, action))
}

fn load_kit(p: &Paths) -> Result<Identity, KitError> {
    let key = read_key(&p.server_key)?;
    let modern = read_chain(&p.server_pem)?;
    let legacy = read_chain(&p.server_legacy_pem)?;
    let ecdsa = match (read_key(&p.server_ec_key), read_chain(&p.server_ec_pem)) {
        (Ok(key), Ok(chain)) => Some((key, chain)),
        _ => None,
    };
    Ok(Identity {
        key,
        modern,
        legacy: Some(legacy),
        ecdsa,
    })
}

/// `msnpd tls init`: a new CA if there is none (or `new_ca`), and new server certificates.
pub fn init(dir: &Path, names: &[String], new_ca: bool) -> Result<bool, KitError> {
    let p = Paths::new(dir);
    std::fs::create_dir_all(dir).map_err(|e| err(dir, "cannot create directory", e))?;
    let created = new_ca || !(p.ca_pem.exists() && p.ca_key.exists());
    let (ca, ca_key) = if created {
        create_ca(&p)?
    } else {
        (read_chain(&p.ca_pem)?.remove(0), read_key(&p.ca_key)?)
    };
    issue_server(&p, &ca, &ca_key, names)?;
    Ok(created)
}

/// `--tls-cert FILE --tls-key FILE`: the operator's own chain, used for every handshake.
pub fn load_files(cert: &Path, key: &Path) -> Result<Identity, KitError> {
    let modern = read_chain(cert)?;
    let key_pem = read_key(key)?;
    if !modern[0]
        .public_key()
        .is_ok_and(|pk| pk.public_eq(&key_pem))
    {
        return Err(err(key, "does not match", cert.display()));
    }
    Ok(Identity {
        key: key_pem,
        modern,
        legacy: None,
        ecdsa: None,
    })
}

/// The host names and addresses a certificate is valid for.
pub fn cert_names(cert: &X509) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(sans) = cert.subject_alt_names() {
        for n in sans.iter() {
            if let Some(d) = n.dnsname() {
                out.push(d.to_string());
            } else if let Some(ip) = n.ipaddress() {
                match ip.len() {
                    4 => out.push(std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]).to_string()),
                    16 => {
                        let b: [u8; 16] = ip.try_into().expect("16 bytes");
                        out.push(std::net::Ipv6Addr::from(b).to_string())
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

fn hex_colon(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// `msnpd tls show`: a human-readable description of the kit in `dir`.
pub fn describe(dir: &Path) -> Result<String, KitError> {
    let p = Paths::new(dir);
    let mut out = String::new();
    for (label, path) in [
        ("CA certificate", &p.ca_pem),
        ("server certificate (TLS 1.2+)", &p.server_pem),
        ("server certificate (SSL 3.0/TLS 1.0)", &p.server_legacy_pem),
        ("server certificate (ECDSA, TLS 1.2+)", &p.server_ec_pem),
    ] {
        // A kit from before the ECDSA certificate gets it at the server's next start.
        if path == &p.server_ec_pem && !path.exists() {
            continue;
        }
        let cert = read_chain(path)?.remove(0);
        let subject = cert
            .subject_name()
            .entries_by_nid(Nid::COMMONNAME)
            .next()
            .and_then(|e| e.data().to_string().ok())
            .unwrap_or_default();
        out.push_str(&format!("{label}: {}\n", path.display()));
        out.push_str(&format!("  subject CN: {subject}\n"));
        out.push_str(&format!(
            "  signature: {}\n",
            cert.signature_algorithm().object()
        ));
        out.push_str(&format!("  expires: {}\n", cert.not_after()));
        out.push_str(&format!(
            "  SHA-1 fingerprint: {}\n",
            hex_colon(&cert.digest(MessageDigest::sha1())?)
        ));
        out.push_str(&format!(
            "  SHA-256 fingerprint: {}\n",
            hex_colon(&cert.digest(MessageDigest::sha256())?)
        ));
        let names = cert_names(&cert);
        if !names.is_empty() {
            out.push_str(&format!("  names: {}\n", names.join(", ")));
        }
    }
    out.push_str(&format!(
        "CA for client PCs: {} (DER; also served at http://SERVER:8080/msnpd-ca.cer)\n",
        p.ca_cer.display()
    ));
    out.push_str(&format!(
        "private keys (keep secret): {}, {}, {}\n",
        p.ca_key.display(),
        p.server_key.display(),
        p.server_ec_key.display()
    ));
    Ok(out)
}
