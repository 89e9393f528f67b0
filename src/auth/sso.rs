//! MSNP15+ single sign-on: the nonce of `USR t SSO S MBI_KEY_OLD <nonce>`, the session key
//! (`BinarySecret`) the RST.srf answer gives the client for messengerclear.live.com, and the check
//! of the client's answer `USR t SSO S <ticket> <answer>`.
//!
//! What the client computes (papyon `SingleSignOn.py` `mbi_crypt`, libpurple `nexus.c`
//! `msn_rps_encrypt`): from the session key it derives two 24-byte keys with the WS-Trust P_SHA1
//! construction (`derive_key`) under the labels `HASH_LABEL` and `ENCRYPTION_LABEL`; it sends
//! a 28-byte little-endian header (header size 28, CBC mode 1, 3DES 0x6603, SHA-1 0x8004, IV
//! length 8, hash length 20, cipher length 72), then a random IV, HMAC-SHA1(hash key, nonce) and
//! 3DES-CBC(encryption key, IV, nonce + eight 0x08 bytes), all in base64. With our 64-character
//! nonce the padding is exactly PKCS#7's.
//!
//! The server, which chose both the nonce and the key, recomputes the HMAC and decrypts the
//! cipher with the client's IV; both must match. Only a holder of the key can produce either,
//! and the key was only ever sent, over TLS, to whoever passed the password check for this login.
//! Crypto comes from OpenSSL, which the project already links (vendored) for TLS.

use crate::limits::SSO_NONCE_LEN;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use openssl::symm::{Cipher, decrypt};
use std::fmt;

/// The label of the key the client HMACs the nonce with.
pub const HASH_LABEL: &str = "WS-SecureConversationSESSION KEY HASH";
/// The label of the key the client encrypts the nonce with.
pub const ENCRYPTION_LABEL: &str = "WS-SecureConversationSESSION KEY ENCRYPTION";
/// Length of the session key (the `BinarySecret`), as the official service issued it.
pub const SESSION_KEY_LEN: usize = 24;
/// The header fields of the answer blob (papyon and libpurple write these values).
const HEADER_LEN: u32 = 28;
const CRYPT_MODE_CBC: u32 = 1;
const CIPHER_3DES: u32 = 0x6603;
const HASH_SHA1: u32 = 0x8004;
const IV_LEN: usize = 8;
const HASH_LEN: usize = 20;
/// Longest cipher field accepted: the nonce plus a block of padding is 72; more is not a client.
const MAX_CIPHER_LEN: usize = 256;

/// The `BinarySecret` issued for one login: random, 24 bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKey(pub [u8; SESSION_KEY_LEN]);

impl fmt::Debug for SessionKey {
    // Nothing secret in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKey(..)")
    }
}

impl SessionKey {
    /// A fresh key from the operating system's random source.
    pub fn random() -> SessionKey {
        let mut k = [0u8; SESSION_KEY_LEN];
        super::fill_random(&mut k);
        SessionKey(k)
    }

    /// The key as the RST.srf answer carries it in `wst:BinarySecret`.
    pub fn to_base64(&self) -> String {
        B64.encode(self.0)
    }
}

/// A fresh nonce for `USR t SSO S MBI_KEY_OLD <nonce>`: 48 random bytes in base64, 64
/// characters (see `SSO_NONCE_LEN` for why exactly 64).
pub fn new_nonce() -> String {
    let mut raw = [0u8; SSO_NONCE_LEN / 4 * 3];
    super::fill_random(&mut raw);
    B64.encode(raw)
}

/// Why an answer was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SsoError {
    /// Not base64.
    Base64,
    /// The blob's header or lengths are not those of an MBI_KEY_OLD answer.
    Format,
    /// The HMAC of the nonce does not match: wrong key or wrong nonce.
    Hash,
    /// The cipher does not decrypt to the nonce.
    Cipher,
    /// OpenSSL failed (not the client's fault).
    Crypto,
}

impl fmt::Display for SsoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SsoError::Base64 => "answer is not base64",
            SsoError::Format => "answer is not an MBI_KEY_OLD blob",
            SsoError::Hash => "nonce hash does not match",
            SsoError::Cipher => "nonce cipher does not match",
            SsoError::Crypto => "crypto library error",
        })
    }
}

impl std::error::Error for SsoError {}

/// HMAC-SHA1 of the concatenation of `parts` under `key`.
pub fn hmac_sha1(key: &[u8], parts: &[&[u8]]) -> Result<[u8; 20], SsoError> {
    let pkey = PKey::hmac(key).map_err(|_| SsoError::Crypto)?;
    let mut signer = Signer::new(MessageDigest::sha1(), &pkey).map_err(|_| SsoError::Crypto)?;
    for p in parts {
        signer.update(p).map_err(|_| SsoError::Crypto)?;
    }
    let mut out = [0u8; 20];
    let n = signer.sign(&mut out).map_err(|_| SsoError::Crypto)?;
    if n != out.len() {
        return Err(SsoError::Crypto);
    }
    Ok(out)
}

/// WS-Trust P_SHA1 (as in TLS 1.0's PRF) of `secret` with seed `label`, cut to 24 bytes:
/// A1 = HMAC(secret, label), A2 = HMAC(secret, A1); output HMAC(secret, A1 + label) followed by
/// the first four bytes of HMAC(secret, A2 + label).
pub fn derive_key(secret: &[u8], label: &str) -> Result<[u8; 24], SsoError> {
    let label = label.as_bytes();
    let a1 = hmac_sha1(secret, &[label])?;
    let first = hmac_sha1(secret, &[&a1, label])?;
    let a2 = hmac_sha1(secret, &[&a1])?;
    let second = hmac_sha1(secret, &[&a2, label])?;
    let mut key = [0u8; 24];
    key[..20].copy_from_slice(&first);
    key[20..].copy_from_slice(&second[..4]);
    Ok(key)
}

/// The parts of a client's answer after the header has been checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The client's random IV.
    pub iv: [u8; IV_LEN],
    /// HMAC-SHA1 of the nonce under the hash key.
    pub hash: [u8; HASH_LEN],
    /// 3DES-CBC of the padded nonce under the encryption key.
    pub cipher: Vec<u8>,
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// Decodes and checks the shape of the base64 answer blob.
pub fn parse_answer(base64: &str) -> Result<Answer, SsoError> {
    // 28 + 8 + 20 + 256 bytes at most: anything longer is refused before decoding.
    if base64.len() > (HEADER_LEN as usize + IV_LEN + HASH_LEN + MAX_CIPHER_LEN) * 4 / 3 + 4 {
        return Err(SsoError::Format);
    }
    let blob = B64.decode(base64.trim()).map_err(|_| SsoError::Base64)?;
    if blob.len() < HEADER_LEN as usize {
        return Err(SsoError::Format);
    }
    let header: [u32; 7] = std::array::from_fn(|i| u32_at(&blob, i * 4));
    let [size, mode, cipher, hash, iv_len, hash_len, cipher_len] = header;
    let cipher_len = cipher_len as usize;
    if size != HEADER_LEN
        || mode != CRYPT_MODE_CBC
        || cipher != CIPHER_3DES
        || hash != HASH_SHA1
        || iv_len as usize != IV_LEN
        || hash_len as usize != HASH_LEN
        || cipher_len == 0
        || !cipher_len.is_multiple_of(8)
        || cipher_len > MAX_CIPHER_LEN
        || blob.len() != HEADER_LEN as usize + IV_LEN + HASH_LEN + cipher_len
    {
        return Err(SsoError::Format);
    }
    let at = HEADER_LEN as usize;
    Ok(Answer {
        iv: blob[at..at + IV_LEN]
            .try_into()
            .map_err(|_| SsoError::Format)?,
        hash: blob[at + IV_LEN..at + IV_LEN + HASH_LEN]
            .try_into()
            .map_err(|_| SsoError::Format)?,
        cipher: blob[at + IV_LEN + HASH_LEN..].to_vec(),
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks the client's `answer` to `nonce` against the session `key` issued for this login.
pub fn verify(key: &SessionKey, nonce: &str, answer: &str) -> Result<(), SsoError> {
    let answer = parse_answer(answer)?;
    let hash_key = derive_key(&key.0, HASH_LABEL)?;
    let expected = hmac_sha1(&hash_key, &[nonce.as_bytes()])?;
    if !constant_time_eq(&expected, &answer.hash) {
        return Err(SsoError::Hash);
    }
    let enc_key = derive_key(&key.0, ENCRYPTION_LABEL)?;
    // PKCS#7 unpadding: the clients pad with eight 0x08 bytes, which is PKCS#7 for a nonce whose
    // length is a multiple of eight (ours is 64). Bad padding is a wrong answer, not an error.
    let plain = decrypt(
        Cipher::des_ede3_cbc(),
        &enc_key,
        Some(&answer.iv),
        &answer.cipher,
    )
    .map_err(|_| SsoError::Cipher)?;
    if !constant_time_eq(&plain, nonce.as_bytes()) {
        return Err(SsoError::Cipher);
    }
    Ok(())
}

/// The client side of the exchange: what a WLM client sends after RST.srf. The server never calls
/// it; the crate's tests and the load generator (`msnpd-load --version 15..18`) sign in with it,
/// so that both compute the answer exactly as the verifier above expects a client to.
pub mod client {
    use super::*;
    use openssl::symm::{Crypter, Mode};

    /// The `MBI_KEY_OLD` answer to `nonce` with the session key `binary_secret_b64` (the RST.srf
    /// answer's `BinarySecret` for messengerclear.live.com), written from papyon's `mbi_crypt`
    /// and libpurple's `msn_rps_encrypt`: the header, a random IV, the HMAC, and 3DES-CBC of the
    /// nonce followed by eight 0x08 bytes with no further padding, in base64.
    pub fn answer(binary_secret_b64: &str, nonce: &str) -> Result<String, SsoError> {
        let secret = B64
            .decode(binary_secret_b64.trim())
            .map_err(|_| SsoError::Base64)?;
        let hash_key = derive_key(&secret, HASH_LABEL)?;
        let crypt_key = derive_key(&secret, ENCRYPTION_LABEL)?;
        let hash = hmac_sha1(&hash_key, &[nonce.as_bytes()])?;
        let mut iv = [0u8; IV_LEN];
        crate::auth::fill_random(&mut iv);
        let mut padded = nonce.as_bytes().to_vec();
        padded.extend_from_slice(&[8u8; 8]);
        let mut c = Crypter::new(Cipher::des_ede3_cbc(), Mode::Encrypt, &crypt_key, Some(&iv))
            .map_err(|_| SsoError::Crypto)?;
        c.pad(false);
        let mut cipher = vec![0u8; padded.len() + 8];
        let mut n = c
            .update(&padded, &mut cipher)
            .map_err(|_| SsoError::Crypto)?;
        n += c.finalize(&mut cipher[n..]).map_err(|_| SsoError::Crypto)?;
        cipher.truncate(n);
        let mut blob = Vec::with_capacity(HEADER_LEN as usize + IV_LEN + HASH_LEN + n);
        let header = [
            HEADER_LEN,
            CRYPT_MODE_CBC,
            CIPHER_3DES,
            HASH_SHA1,
            IV_LEN as u32,
            HASH_LEN as u32,
            n as u32,
        ];
        for v in header {
            blob.extend_from_slice(&v.to_le_bytes());
        }
        blob.extend_from_slice(&iv);
        blob.extend_from_slice(&hash);
        blob.extend_from_slice(&cipher);
        Ok(B64.encode(blob))
    }

    /// `answer` for tests: panics on a malformed secret, checks libpurple's fixed cipher length.
    #[cfg(test)]
    pub(crate) fn client_answer(binary_secret_b64: &str, nonce: &str) -> String {
        let a = answer(binary_secret_b64, nonce).unwrap();
        let blob = B64.decode(&a).unwrap();
        assert_eq!(u32_at(&blob, 24), 72, "libpurple's fixed cipher length");
        a
    }
}

#[cfg(test)]
mod tests {
    use super::client::client_answer;
    use super::*;

    #[test]
    fn hmac_sha1_matches_rfc_2202() {
        let out = hmac_sha1(b"Jefe", &[b"what do ya want ", b"for nothing?"]).unwrap();
        assert_eq!(
            crate::auth::hex(&out),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
    }

    #[test]
    fn derivation_is_p_sha1() {
        // P_SHA1 written out the long way, as libpurple's rps_create_key does.
        let secret = b"0123456789abcdefghijklmn";
        let label = HASH_LABEL.as_bytes();
        let h1 = hmac_sha1(secret, &[label]).unwrap();
        let h2 = hmac_sha1(secret, &[&h1, label]).unwrap();
        let h3 = hmac_sha1(secret, &[&h1]).unwrap();
        let h4 = hmac_sha1(secret, &[&h3, label]).unwrap();
        let key = derive_key(secret, HASH_LABEL).unwrap();
        assert_eq!(&key[..20], &h2);
        assert_eq!(&key[20..], &h4[..4]);
        assert_ne!(key, derive_key(secret, ENCRYPTION_LABEL).unwrap());
    }

    #[test]
    fn accepts_a_client_answer_and_refuses_wrong_ones() {
        let key = SessionKey::random();
        let nonce = new_nonce();
        assert_eq!(nonce.len(), SSO_NONCE_LEN);
        let answer = client_answer(&key.to_base64(), &nonce);
        assert_eq!(verify(&key, &nonce, &answer), Ok(()));

        // Another login's key, another nonce.
        let other = SessionKey::random();
        assert_eq!(verify(&other, &nonce, &answer), Err(SsoError::Hash));
        assert_eq!(verify(&key, &new_nonce(), &answer), Err(SsoError::Hash));

        // The hash right but the cipher tampered with.
        let mut blob = B64.decode(&answer).unwrap();
        let last = blob.len() - 9;
        blob[last] ^= 1;
        assert!(matches!(
            verify(&key, &nonce, &B64.encode(&blob)),
            Err(SsoError::Cipher)
        ));
        // The IV changed: the first block decrypts differently.
        let mut blob = B64.decode(&answer).unwrap();
        blob[28] ^= 0x80;
        assert_eq!(
            verify(&key, &nonce, &B64.encode(&blob)),
            Err(SsoError::Cipher)
        );
    }

    #[test]
    fn malformed_answers_are_refused_cleanly() {
        let key = SessionKey::random();
        let nonce = new_nonce();
        let good = B64.decode(client_answer(&key.to_base64(), &nonce)).unwrap();
        assert_eq!(verify(&key, &nonce, "not base64!"), Err(SsoError::Base64));
        assert_eq!(verify(&key, &nonce, ""), Err(SsoError::Format));
        assert_eq!(
            verify(&key, &nonce, &"A".repeat(10_000)),
            Err(SsoError::Format)
        );
        for cut in [0, 27, 28, 36, 56, good.len() - 1] {
            assert_eq!(
                verify(&key, &nonce, &B64.encode(&good[..cut])),
                Err(SsoError::Format),
                "cut at {cut}"
            );
        }
        for field in 0..7 {
            let mut b = good.clone();
            b[field * 4] ^= 0x40;
            assert_eq!(
                verify(&key, &nonce, &B64.encode(&b)),
                Err(SsoError::Format),
                "header field {field}"
            );
        }
    }

    #[test]
    fn keys_are_random_and_not_logged() {
        let a = SessionKey::random();
        assert_ne!(a, SessionKey::random());
        assert_eq!(format!("{a:?}"), "SessionKey(..)");
        assert_eq!(B64.decode(a.to_base64()).unwrap(), a.0);
        assert_ne!(new_nonce(), new_nonce());
    }
}
