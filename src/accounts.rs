//! Rules for new accounts and passwords, shared by `msnpd user add` and the registration form so
//! that both accept exactly the same handles.

use crate::limits::{MAX_DOMAIN_LABEL, MAX_HANDLE, MAX_PASSWORD, MIN_WEB_PASSWORD};
use crate::protocol::names::normalize_handle;

/// Who may create an account through the registration form (`--registration`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Registration {
    /// No form; accounts come from `msnpd user add` only.
    #[default]
    Closed,
    /// Anyone who can reach the HTTP port.
    Open,
    /// Whoever has a code from `msnpd invite create`.
    Invite,
}

impl Registration {
    /// The word `--registration` and the config file take, for the start-up log and `msnpd config`.
    pub fn as_str(self) -> &'static str {
        match self {
            Registration::Closed => "closed",
            Registration::Open => "open",
            Registration::Invite => "invite",
        }
    }
}

impl std::str::FromStr for Registration {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "closed" => Ok(Registration::Closed),
            "open" => Ok(Registration::Open),
            "invite" => Ok(Registration::Invite),
            _ => Err(format!(
                "registration must be open, invite or closed, not {s:?}"
            )),
        }
    }
}

/// Why a handle or password is refused. `Display` is the message shown to the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Nothing was typed.
    HandleEmpty,
    /// Longer than `MAX_HANDLE`: clients and the protocol's lines cannot carry it.
    HandleTooLong,
    /// Not `name@domain.tld` made of the characters every MSNP version accepts in a handle.
    HandleInvalid,
    /// An empty password would let anyone log in.
    PasswordEmpty,
    /// Longer than `MAX_PASSWORD` bytes: refused so that hashing stays bounded.
    PasswordTooLong,
    /// Shorter than `MIN_WEB_PASSWORD`, or the handle (or its part before `@`) itself.
    PasswordWeak,
    /// Contains control characters: MSN clients cannot type them, the Passport header cannot carry them.
    PasswordControl,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::HandleEmpty => f.write_str("the e-mail address is empty"),
            Refused::HandleTooLong => write!(
                f,
                "the e-mail address is too long (at most {MAX_HANDLE} characters)"
            ),
            Refused::HandleInvalid => f.write_str(
                "that is not a valid e-mail address (name@domain.tld; letters, digits and . _ - + only)",
            ),
            Refused::PasswordEmpty => f.write_str("the password is empty"),
            Refused::PasswordTooLong => write!(
                f,
                "the password is too long (at most {MAX_PASSWORD} bytes)"
            ),
            Refused::PasswordWeak => write!(
                f,
                "the password is too weak: use at least {MIN_WEB_PASSWORD} characters, and not your e-mail address"
            ),
            Refused::PasswordControl => f.write_str("the password contains control characters"),
        }
    }
}

impl std::error::Error for Refused {}

/// Checks and normalises (lower case) a new account's handle, the way every login will look it up.
/// A new handle must also follow `handle_follows_rule`; logins of existing accounts only need
/// `normalize_handle`, so accounts made before the rule keep working.
pub fn new_handle(input: &str) -> Result<String, Refused> {
    let input = input.trim();
    if input.is_empty() {
        Err(Refused::HandleEmpty)
    } else if input.len() > MAX_HANDLE {
        Err(Refused::HandleTooLong)
    } else {
        normalize_handle(input)
            .filter(|h| handle_follows_rule(h))
            .ok_or(Refused::HandleInvalid)
    }
}

/// Checks and normalises the handle of an account that may already exist (`user passwd`,
/// `user del`): only what logins need, so accounts made before the handle rule stay reachable.
pub fn existing_handle(input: &str) -> Result<String, Refused> {
    let input = input.trim();
    if input.is_empty() {
        Err(Refused::HandleEmpty)
    } else {
        normalize_handle(input).ok_or(Refused::HandleInvalid)
    }
}

/// The rule for new handles (SECURITY.md, "Handles"). Old clients build file paths (Messenger
/// 6-7's per-user folders, Pidgin's logs and buddy icons) and XML or HTML from handles, so only
/// characters that are harmless in all of them are allowed: the local part of
/// `[A-Za-z0-9._+-]`, not empty, not starting or ending with `.` and without `..`; the
/// domain of at least two labels of `[A-Za-z0-9-]`, 1-63 characters each, not starting or
/// ending with `-`; in all at most `MAX_HANDLE` characters. No quotes, slashes, `<>&`, `%` or
/// spaces can pass.
pub fn handle_follows_rule(handle: &str) -> bool {
    let Some((local, domain)) = handle.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            (1..=MAX_DOMAIN_LABEL).contains(&l.len())
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    handle.len() <= MAX_HANDLE && local_ok && domain_ok
}

/// What every password must satisfy (the command line and the form): not empty, bounded, and no
/// control characters (MSN clients cannot type them, and the Passport header cannot carry them).
pub fn password_acceptable(password: &str) -> Result<(), Refused> {
    if password.is_empty() {
        Err(Refused::PasswordEmpty)
    } else if password.len() > MAX_PASSWORD {
        Err(Refused::PasswordTooLong)
    } else if password.chars().any(char::is_control) {
        Err(Refused::PasswordControl)
    } else {
        Ok(())
    }
}

/// The stricter rule for self-registration, where nobody chose the password with the operator:
/// acceptable, at least `MIN_WEB_PASSWORD` characters, and not the handle or its local part.
pub fn password_strong_enough(handle: &str, password: &str) -> Result<(), Refused> {
    password_acceptable(password)?;
    let lower = password.to_lowercase();
    let local = handle.split('@').next().unwrap_or(handle);
    if password.chars().count() < MIN_WEB_PASSWORD || lower == handle || lower == local {
        return Err(Refused::PasswordWeak);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 21, finding 12: path and quote characters are refused in new handles, though such
    /// old handles still normalise for login.
    #[test]
    fn new_handles_follow_the_rule() {
        for bad in [
            "../../../.purple/x@example.com",
            "a'onerror=alert(1)@example.com",
            "a\"b@example.com",
            "a<b>@example.com",
            "a&b@example.com",
            "a/b@example.com",
            "a%41@example.com",
            ".a@example.com",
            "a.@example.com",
            "a..b@example.com",
            "a@-example.com",
            "a@example-.com",
            "a@example",
            "a@exa_mple.com",
        ] {
            assert_eq!(new_handle(bad), Err(Refused::HandleInvalid), "{bad}");
        }
        for good in [
            "alice@example.com",
            "Bob.Smith+msn@mail.example.co.uk",
            "x_y-z@a-b.example",
            "9@9.9",
        ] {
            assert!(new_handle(good).is_ok(), "{good}");
        }
        let long_label = format!("a@{}.com", "b".repeat(MAX_DOMAIN_LABEL + 1));
        assert_eq!(new_handle(&long_label), Err(Refused::HandleInvalid));
        // Existing accounts keep logging in.
        assert!(normalize_handle("a'b@example.com").is_some());
        assert!(!handle_follows_rule("a'b@example.com"));
    }

    #[test]
    fn handles() {
        assert_eq!(
            new_handle(" Alice@Example.COM ").unwrap(),
            "alice@example.com"
        );
        assert_eq!(new_handle(""), Err(Refused::HandleEmpty));
        assert_eq!(new_handle("alice"), Err(Refused::HandleInvalid));
        assert_eq!(new_handle("a b@example.com"), Err(Refused::HandleInvalid));
        let long = format!("{}@example.com", "a".repeat(MAX_HANDLE));
        assert_eq!(new_handle(&long), Err(Refused::HandleTooLong));
    }

    #[test]
    fn passwords() {
        assert_eq!(password_acceptable(""), Err(Refused::PasswordEmpty));
        assert_eq!(password_acceptable("a\tb"), Err(Refused::PasswordControl));
        assert!(password_acceptable("pw").is_ok());
        let h = "alice@example.com";
        assert_eq!(
            password_strong_enough(h, "abc12"),
            Err(Refused::PasswordWeak)
        );
        assert_eq!(
            password_strong_enough(h, "ALICE"),
            Err(Refused::PasswordWeak)
        );
        assert_eq!(
            password_strong_enough(h, "Alice@Example.com"),
            Err(Refused::PasswordWeak)
        );
        assert_eq!(
            password_strong_enough(h, &"x".repeat(MAX_PASSWORD + 1)),
            Err(Refused::PasswordTooLong)
        );
        assert!(password_strong_enough(h, "correct horse").is_ok());
        assert!(password_strong_enough(h, "pässwörd").is_ok());
    }
}
