//! Credentials, challenges and random tokens.
//!
//! Two kinds of stored credential per account:
//! * MD5 login (MSNP2-7) needs MD5(challenge + password) to be checkable without the plaintext, so
//!   the challenge we send *is* a per-user random salt and we store MD5(salt + password). The
//!   response is therefore the same at every login (replayable by someone who sniffed it once), a
//!   weakness of the protocol documented in SECURITY.md.
//! * Password logins over HTTP (MSNP8+) use Argon2id with a random salt.
//! * XMPP's SCRAM-SHA-1/-256 (RFC 5802, 7677) need StoredKey and ServerKey per hash, derived
//!   with PBKDF2 from the password and a salt of their own (`ScramKey`); they are made whenever the
//!   plaintext is at hand: a password set, or checked by a PLAIN login.

pub mod sso;

use crate::limits::{ARGON2_LANES, ARGON2_MEMORY_KIB, ARGON2_PASSES};
use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use md5::{Digest, Md5};

fn argon2() -> Argon2<'static> {
    let params = Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, ARGON2_LANES, None)
        .expect("valid argon2 params");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Everything stored about a password: what both login families need to check it without the
/// plaintext.
pub struct Credential {
    /// The per-user MD5 challenge sent to MSNP2-7 clients.
    pub md5_salt: String,
    /// MD5(salt + password): an MSNP2-7 client's correct answer.
    pub md5_hash: String,
    /// Argon2id PHC string (parameters, salt and hash) for HTTP logins.
    pub phc: String,
    /// The SCRAM keys of every hash XMPP offers.
    pub scram: Vec<ScramKey>,
}

impl Credential {
    /// Derives both stored forms from a new password (slow: one Argon2 hash).
    pub fn new(password: &str) -> Credential {
        let md5_salt = md5_challenge();
        let md5_hash = md5_hex(format!("{md5_salt}{password}").as_bytes());
        let mut salt = [0u8; 16];
        fill_random(&mut salt);
        let phc = argon2()
            .hash_password_with_salt(password.as_bytes(), &salt)
            .expect("argon2 hashing cannot fail with valid params")
            .to_string();
        Credential {
            md5_salt,
            md5_hash,
            phc,
            scram: scram_keys(password),
        }
    }
}

/// The hashes of the SCRAM mechanisms XMPP offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScramHash {
    /// `SCRAM-SHA-1` (RFC 5802): every XMPP client has it.
    Sha1,
    /// `SCRAM-SHA-256` (RFC 7677).
    Sha256,
}

impl ScramHash {
    /// Both, strongest first (the order the mechanisms are offered in).
    pub const ALL: [ScramHash; 2] = [ScramHash::Sha256, ScramHash::Sha1];

    /// The SASL mechanism name, also the key of the stored row.
    pub fn mechanism(self) -> &'static str {
        match self {
            ScramHash::Sha1 => "SCRAM-SHA-1",
            ScramHash::Sha256 => "SCRAM-SHA-256",
        }
    }

    /// The hash for a mechanism name.
    pub fn from_mechanism(name: &str) -> Option<ScramHash> {
        ScramHash::ALL.into_iter().find(|h| h.mechanism() == name)
    }

    fn digest(self) -> openssl::hash::MessageDigest {
        match self {
            ScramHash::Sha1 => openssl::hash::MessageDigest::sha1(),
            ScramHash::Sha256 => openssl::hash::MessageDigest::sha256(),
        }
    }

    /// H(data).
    pub fn hash(self, data: &[u8]) -> Vec<u8> {
        openssl::hash::hash(self.digest(), data)
            .expect("OpenSSL hashes")
            .to_vec()
    }

    /// HMAC(key, data).
    pub fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        let key = openssl::pkey::PKey::hmac(key).expect("OpenSSL HMAC key");
        let mut s = openssl::sign::Signer::new(self.digest(), &key).expect("OpenSSL HMAC");
        s.update(data).expect("OpenSSL HMAC");
        s.sign_to_vec().expect("OpenSSL HMAC")
    }
}

/// What the server keeps to check a SCRAM login without the password (RFC 5802 3): the client
/// proves it knows ClientKey, whose hash is StoredKey; ServerKey signs the server's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScramKey {
    /// Which mechanism these keys are for.
    pub hash: ScramHash,
    /// Random, 16 bytes; sent to the client.
    pub salt: Vec<u8>,
    /// PBKDF2 iterations; sent to the client.
    pub iterations: u32,
    /// H(HMAC(SaltedPassword, "Client Key")).
    pub stored_key: Vec<u8>,
    /// HMAC(SaltedPassword, "Server Key").
    pub server_key: Vec<u8>,
}

impl ScramKey {
    /// Derives the keys of `hash` for `password` with `salt` and `iterations`.
    pub fn derive(hash: ScramHash, password: &str, salt: &[u8], iterations: u32) -> ScramKey {
        let mut salted = vec![0u8; hash.digest().size()];
        openssl::pkcs5::pbkdf2_hmac(
            password.as_bytes(),
            salt,
            iterations as usize,
            hash.digest(),
            &mut salted,
        )
        .expect("OpenSSL PBKDF2");
        let client_key = hash.hmac(&salted, b"Client Key");
        ScramKey {
            hash,
            salt: salt.to_vec(),
            iterations,
            stored_key: hash.hash(&client_key),
            server_key: hash.hmac(&salted, b"Server Key"),
        }
    }
}

/// New SCRAM keys for every offered hash, each with a fresh salt (a few ms of PBKDF2).
pub fn scram_keys(password: &str) -> Vec<ScramKey> {
    ScramHash::ALL
        .into_iter()
        .map(|h| {
            let mut salt = [0u8; 16];
            fill_random(&mut salt);
            ScramKey::derive(h, password, &salt, crate::limits::SCRAM_ITERATIONS)
        })
        .collect()
}

/// Checks a password against an Argon2 PHC string. Slow on purpose: call it off the executor.
/// Its thread CPU time is added to `password_hash_cpu` (the operator's `/status` shows it, so a
/// benchmark can tell the hash from the rest of a login measured on the same server).
pub fn verify_password(password: &str, phc: &str) -> bool {
    let start = thread_cpu_ns();
    let ok = argon2().verify_password(password.as_bytes(), phc).is_ok();
    HASH_CPU_NS.fetch_add(
        thread_cpu_ns().saturating_sub(start),
        std::sync::atomic::Ordering::Relaxed,
    );
    HASH_COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    ok
}

static HASH_CPU_NS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static HASH_COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Password checks (`verify_password`) since the server started, and the thread CPU time they
/// took in total.
pub fn password_hash_cpu() -> (u64, std::time::Duration) {
    use std::sync::atomic::Ordering::Relaxed;
    (
        HASH_COUNT.load(Relaxed),
        std::time::Duration::from_nanos(HASH_CPU_NS.load(Relaxed)),
    )
}

/// The calling thread's CPU time in nanoseconds (0 if the clock is unavailable).
fn thread_cpu_ns() -> u64 {
    // SAFETY: a zeroed timespec is a valid value; clock_gettime only writes it.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: a valid clock id and a pointer to a live timespec.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// A valid hash of a random password, checked against when an account does not exist so that a
/// failed login costs the same time either way.
pub(crate) fn dummy_phc() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| Credential::new(&token(16)).phc)
}

/// Lower-case hex MD5.
pub fn md5_hex(data: &[u8]) -> String {
    hex(&Md5::digest(data))
}

/// Lower-case hex of `bytes` (digests, GUIDs): hand-written to avoid a crate for ten lines.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

/// Constant-time comparison of two ASCII strings, case-insensitive (hex digests).
pub(crate) fn digest_eq(a: &str, b: &str) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| {
        acc | (x.to_ascii_lowercase() ^ y.to_ascii_lowercase())
    }) == 0
}

/// Fills `buf` from the operating system's random source: every secret the server makes (salts,
/// cookies, tickets, tokens) comes from here. A failing source is fatal rather than weak.
pub(crate) fn fill_random(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the operating system's random source failed");
}

/// Constant-time equality of two byte strings (SCRAM proofs).
pub fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && openssl::memcmp::eq(a, b)
}

/// A random 64-bit number from `fill_random`.
pub(crate) fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    fill_random(&mut b);
    u64::from_le_bytes(b)
}

/// A challenge in the shape official servers used: `1013928519.693957190`.
pub(crate) fn md5_challenge() -> String {
    format!(
        "{:010}.{:09}",
        random_u64() % 10_000_000_000,
        random_u64() % 1_000_000_000
    )
}

/// Keyed BLAKE2s-256 of `parts` (concatenated) under a server secret of at most 32 bytes: the
/// one MAC of the project (registration form tokens, decoy challenges). BLAKE2 is already built
/// for Argon2.
pub(crate) fn keyed_mac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    use blake2::digest::{KeyInit, Mac};
    let mut m = <blake2::Blake2sMac256 as KeyInit>::new_from_slice(key)
        .expect("server secrets are at most 32 bytes");
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

/// The MD5 challenge for a handle that has no account: MAC(server secret, handle) written in the
/// shape of `md5_challenge`. Asking twice gives the same answer, as a real account's salt does, so
/// the challenge does not tell which handles exist.
pub(crate) fn decoy_md5_challenge(key: &[u8], handle: &str) -> String {
    let out = keyed_mac(key, &[handle.as_bytes()]);
    let a = u64::from_le_bytes(out[..8].try_into().expect("32-byte MAC"));
    let b = u64::from_le_bytes(out[8..16].try_into().expect("32-byte MAC"));
    format!("{:010}.{:09}", a % 10_000_000_000, b % 1_000_000_000)
}

/// A random token of `len` characters from `[A-Za-z0-9]` (cookies, tickets).
pub(crate) fn token(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut raw = vec![0u8; len];
    fill_random(&mut raw);
    // 62 does not divide 256 (256 = 4 x 62 + 8): the first eight letters come up 5/256 of the time
    // instead of 4/256, a loss of under 0.01 bit per character, irrelevant for 128+ bits of token.
    raw.iter()
        .map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char)
        .collect()
}

/// A random version-4 GUID in its lower-case text form.
pub(crate) fn guid() -> String {
    let mut b = [0u8; 16];
    fill_random(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A decimal `CHL` challenge (20 digits, as the official servers sent).
pub(crate) fn chl_challenge() -> String {
    format!(
        "{:010}{:010}",
        random_u64() % 10_000_000_000,
        random_u64() % 10_000_000_000
    )
}

/// Known client product ids and keys: (id, key, true for the MSNP11 algorithm).
pub(crate) const PRODUCT_KEYS: &[(&str, &str, bool)] = &[
    ("msmsgs@msnmsgr.com", "Q1P7W2E4J9R8U3S5", false),
    ("PROD0038W!61ZTF9", "VT6PX?UQTM4WM%YR", false),
    ("PROD0058#7IL2{QD", "QHDCY@7R1TB6W?5B", false),
    ("PROD0061VRRZH@4F", "JXQ6J@TUOGYV@N0M", false),
    ("PROD00504RLUG%WL", "I2EBK%PYNLZL5_J4", false),
    ("PROD0076ENE8*@AW", "CEQJ8}OE0!WTSWII", false),
    ("PROD0090YUAUV{2B", "YMM8C_H7KCQ2S_KL", true),
    ("PROD0101{0RM?UBW", "CFHUR$52U_{VIX5T", true),
    ("PROD00974#MT*RC2", "LMCVO*18PQJ3H!K3", true),
    ("PROD0104U6VVM{UJ", "VK67B}379XYM5}$T", true),
    ("PROD0113H11T8$X_", "RG@XY*28Q5QHS%Q5", true),
    // WLM (MSNP13-18), same algorithm: 8.0/8.1 betas, 8.5 (libpurple's MSNP15 pair), 2009
    // (libpurple's MSNP18 pair; WLM 14.0.8050+). From the clients' and libraries' sources.
    ("PROD01065C%ZFN6F", "O4BG@C7BWLYQX?5G", true),
    ("PROD0114ES4Z%Q5W", "PK}_A_0N_K%O?A9S", true),
    ("PROD0118R6%2WYOS", "YIXPX@5I2P0UT*LK", true),
    ("PROD0119GSJUC$18", "ILTXC!4IXB5FB*PX", true),
    ("PROD0120PW!CCV9@", "C1BX{V4W}Q3*10SM", true),
];

/// What a correct `QRY` answer to `challenge` is for `product_id`, if we know that product.
/// `msnp11` selects the algorithm family the dialect uses.
pub fn expected_qry(challenge: &str, product_id: &str, msnp11: bool) -> Option<String> {
    let &(id, key, is11) = PRODUCT_KEYS.iter().find(|(id, _, _)| *id == product_id)?;
    if is11 != msnp11 {
        return None;
    }
    Some(if is11 {
        msnp11_response(challenge, id, key)
    } else {
        md5_hex(format!("{challenge}{key}").as_bytes())
    })
}

/// The MSNP11 challenge algorithm (NS.md 4.10).
pub fn msnp11_response(challenge: &str, product_id: &str, key: &str) -> String {
    const M: u64 = 0x7FFF_FFFF;
    let h = Md5::digest(format!("{challenge}{key}").as_bytes());
    let orig: Vec<u32> = (0..4)
        .map(|i| u32::from_le_bytes([h[4 * i], h[4 * i + 1], h[4 * i + 2], h[4 * i + 3]]))
        .collect();
    let k: Vec<u64> = orig.iter().map(|&o| (o & 0x7FFF_FFFF) as u64).collect();
    let mut s = format!("{challenge}{product_id}").into_bytes();
    while s.len() % 8 != 0 {
        s.push(b'0');
    }
    let p: Vec<u64> = s
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as u64)
        .collect();
    let (mut high, mut low) = (0u64, 0u64);
    for j in (0..p.len()).step_by(2) {
        let mut t = (p[j] * 0x0E79_A9C1) % M;
        t += high;
        t = (k[0] * t + k[1]) % M;
        high = (p[j + 1] + t) % M;
        high = (k[2] * high + k[3]) % M;
        low += high + t;
    }
    high = (high + k[1]) % M;
    low = (low + k[3]) % M;
    let (high, low) = (high as u32, low as u32);
    let mut out = Vec::with_capacity(16);
    for (o, x) in orig.iter().zip([high, low, high, low]) {
        out.extend_from_slice(&(o ^ x).to_le_bytes());
    }
    hex(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_login_known_answer() {
        assert_eq!(
            md5_hex(b"1234567890.123456789password"),
            "f59af8f2fa91d38aff7c870c17f99903"
        );
    }

    #[test]
    fn md5_challenge_known_answers() {
        let q = |c| expected_qry(c, "msmsgs@msnmsgr.com", false).unwrap();
        assert_eq!(
            q("11111111111111111111"),
            "3b6666b60157322b6fc6e41a115968f5"
        );
        assert_eq!(
            q("12345678901234567890"),
            "8ba1bb9d6dbf624fee31a2053af5fdd0"
        );
    }

    #[test]
    fn msnp11_challenge_known_answers() {
        let q = |c, id| expected_qry(c, id, true).unwrap();
        assert_eq!(
            q("22210219642164014968", "PROD0090YUAUV{2B"),
            "85ecb0db8f32113df79ce0892b9a102c"
        );
        assert_eq!(
            q("13038318816579321232", "PROD0090YUAUV{2B"),
            "b01c13020e374d4fa20abfad6981b7a9"
        );
        assert_eq!(
            q("11533365622852247127", "PROD0113H11T8$X_"),
            "f086d1ded067186deca8dba2231602cf"
        );
        assert!(expected_qry("1", "PROD0090YUAUV{2B", false).is_none());
    }

    #[test]
    fn decoy_challenges_are_stable_and_salt_shaped() {
        let a = decoy_md5_challenge(b"key one", "ghost@example.com");
        assert_eq!(a, decoy_md5_challenge(b"key one", "ghost@example.com"));
        assert_ne!(a, decoy_md5_challenge(b"key two", "ghost@example.com"));
        assert_ne!(a, decoy_md5_challenge(b"key one", "other@example.com"));
        let real = md5_challenge();
        assert_eq!(a.len(), real.len());
        assert_eq!(a.find('.'), real.find('.'));
        assert!(a.bytes().all(|c| c.is_ascii_digit() || c == b'.'));
    }

    #[test]
    fn credentials_verify() {
        let c = Credential::new("s3cret");
        assert!(verify_password("s3cret", &c.phc));
        assert!(!verify_password("wrong", &c.phc));
        assert_eq!(
            c.md5_hash,
            md5_hex(format!("{}s3cret", c.md5_salt).as_bytes())
        );
        assert!(digest_eq("ABCdef", "abcDEF") && !digest_eq("abc", "abd"));
        assert_eq!(guid().len(), 36);
        assert_eq!(chl_challenge().len(), 20);
    }
}
