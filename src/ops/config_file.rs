//! The configuration file (`--config FILE`, TOML; `/etc/msnpd/msnpd.toml` when present).
//!
//! Every key is a `serve` flag without its leading `--`, spelled the same way
//! (`max-per-ip = 64` is `--max-per-ip 64`). The file is turned into those flags and parsed by the
//! same command-line parser, so a key accepts exactly what its flag accepts, has the flag's
//! default, and a flag given on the command line overrides the key. Unknown keys are errors.
//!
//! Adding an option: give `Serve` in `src/cli/serve.rs` its flag, and add one line to `SERVE_KEYS`.

use std::path::{Path, PathBuf};

/// Used when `--config` is not given and the file exists.
pub const DEFAULT_PATH: &str = "/etc/msnpd/msnpd.toml";

/// How a key becomes flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `key = "value"` or `key = 5` becomes `--key value`.
    Value,
    /// `key = true` becomes `--key`; `false` adds nothing.
    Switch,
    /// `key = ["a", "b"]` becomes `--key a,b` (the flag takes a comma-separated list; a single
    /// value or a string with commas is taken as written).
    List,
}

/// Every `serve` option the file may set.
pub const SERVE_KEYS: &[(&str, Kind)] = &[
    ("db", Kind::Value),
    ("listen", Kind::Value),
    ("sb-listen", Kind::Value),
    ("http-listen", Kind::List),
    ("https-listen", Kind::Value),
    ("xmpp-listen", Kind::Value),
    ("xmpp-tls-listen", Kind::Value),
    ("tls-dir", Kind::Value),
    ("tls-cert", Kind::Value),
    ("tls-key", Kind::Value),
    ("public-host", Kind::Value),
    ("chl-interval", Kind::Value),
    ("allow-unknown-clients", Kind::Switch),
    ("threads", Kind::Value),
    ("login-timeout", Kind::Value),
    ("idle-timeout", Kind::Value),
    ("sb-idle-timeout", Kind::Value),
    ("stall-timeout", Kind::Value),
    ("max-connections", Kind::Value),
    ("max-per-ip", Kind::Value),
    ("auth-backoff", Kind::Value),
    ("log-level", Kind::Value),
    ("http-head-timeout", Kind::Value),
    ("gateway-idle-timeout", Kind::Value),
    ("name", Kind::Value),
    ("public-presence", Kind::Switch),
    ("registration", Kind::Value),
    ("dns-listen", Kind::Value),
    ("dns-upstream", Kind::List),
    ("dns-allow", Kind::List),
];

/// The config file to use: `--config FILE` from `args`, else the default path when it exists.
pub fn locate(args: &[String]) -> Result<Option<PathBuf>, String> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--config" {
            return match it.next() {
                Some(p) if !p.is_empty() => Ok(Some(PathBuf::from(p))),
                _ => Err("--config needs a file name".into()),
            };
        }
    }
    Ok(Path::new(DEFAULT_PATH)
        .exists()
        .then(|| PathBuf::from(DEFAULT_PATH)))
}

/// Reads `path` and returns its settings as `serve` flags, leaving out every key whose flag is
/// already among `given` (the command line wins).
pub fn flags(path: &Path, given: &[String]) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
    to_flags(&text, given).map_err(|e| format!("config file {}: {e}", path.display()))
}

fn scalar(key: &str, v: &toml::Value) -> Result<String, String> {
    match v {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        _ => Err(format!("{key} must be a string or a whole number")),
    }
}

/// The flags for the TOML document `text`.
pub fn to_flags(text: &str, given: &[String]) -> Result<Vec<String>, String> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| e.to_string().trim_end().replace('\n', " "))?;
    let mut out = Vec::new();
    for (key, value) in &table {
        let Some((_, kind)) = SERVE_KEYS.iter().find(|(k, _)| *k == key) else {
            return Err(format!(
                "unknown key {key:?} (keys are the `msnpd serve` options without the leading --)"
            ));
        };
        let flag = format!("--{key}");
        if given.contains(&flag) {
            continue;
        }
        match (kind, value) {
            (Kind::Switch, toml::Value::Boolean(true)) => out.push(flag),
            (Kind::Switch, toml::Value::Boolean(false)) => {}
            (Kind::Switch, _) => return Err(format!("{key} must be true or false")),
            (Kind::List, toml::Value::Array(items)) => {
                let items: Vec<String> = items
                    .iter()
                    .map(|i| scalar(key, i))
                    .collect::<Result<_, _>>()?;
                if items.is_empty() {
                    return Err(format!("{key} is an empty list"));
                }
                out.push(flag);
                out.push(items.join(","));
            }
            (Kind::List | Kind::Value, v) => {
                out.push(flag);
                out.push(scalar(key, v)?);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_flags_and_the_command_line_wins() {
        let text =
            "max-per-ip = 4\npublic-host = \"chat.example.org\"\nallow-unknown-clients = true\n";
        let f = to_flags(text, &[]).unwrap();
        assert!(f.windows(2).any(|w| w == ["--max-per-ip", "4"]), "{f:?}");
        assert!(f.contains(&"--allow-unknown-clients".to_string()));
        let f = to_flags(text, &["--max-per-ip".into()]).unwrap();
        assert!(!f.contains(&"--max-per-ip".to_string()), "{f:?}");
        assert!(
            to_flags("max_per_ip = 4", &[])
                .unwrap_err()
                .contains("max_per_ip")
        );
        assert!(to_flags("threads = true", &[]).is_err());
        assert!(to_flags("allow-unknown-clients = 1", &[]).is_err());
        assert!(to_flags("threads = ", &[]).unwrap_err().contains("line 1"));
    }

    #[test]
    fn list_options_take_arrays() {
        let f = to_flags(
            "http-listen = [\"0.0.0.0:8080\", \"0.0.0.0:80\"]\ndns-allow = \"10.0.0.0/8\"\n",
            &[],
        )
        .unwrap();
        assert!(
            f.windows(2)
                .any(|w| w == ["--http-listen", "0.0.0.0:8080,0.0.0.0:80"]),
            "{f:?}"
        );
        assert!(f.windows(2).any(|w| w == ["--dns-allow", "10.0.0.0/8"]));
        assert!(to_flags("dns-upstream = []", &[]).is_err());
        assert!(to_flags("listen = [\"a\"]", &[]).is_err());
    }
}
