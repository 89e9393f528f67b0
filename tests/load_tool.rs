//! `msnpd-load` at tiny scale against the real server: every scenario runs and its RESULT line
//! parses with sane values.
mod common;
use common::*;
use std::collections::HashMap;
use std::process::Command;

const LOAD: &str = env!("CARGO_BIN_EXE_msnpd-load");

fn accounts(n: usize) -> Vec<(String, String)> {
    (1..=n)
        .map(|i| (format!("user{i}@example.com"), "password".to_string()))
        .collect()
}

fn server(n: usize, extra: &[&str]) -> TestServer {
    let a = accounts(n);
    let users: Vec<(&str, &str)> = a.iter().map(|(h, p)| (h.as_str(), p.as_str())).collect();
    TestServer::start_with(&users, extra)
}

/// Runs the tool; returns the RESULT line's key/values (the line must be the last on stdout).
fn load(args: &[&str]) -> HashMap<String, String> {
    let out = Command::new(LOAD)
        .args(["--timeout", "10"])
        .args(args)
        .output()
        .expect("run msnpd-load");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "msnpd-load {args:?} failed: {stdout}\n{stderr}"
    );
    let last = stdout.lines().last().unwrap_or("");
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("RESULT ")).count(),
        1,
        "exactly one RESULT line: {stdout}"
    );
    let rest = last
        .strip_prefix("RESULT ")
        .unwrap_or_else(|| panic!("last line: {last}"));
    rest.split(' ')
        .map(|kv| {
            let (k, v) = kv
                .split_once('=')
                .unwrap_or_else(|| panic!("bad pair {kv} in {last}"));
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn num(r: &HashMap<String, String>, k: &str) -> f64 {
    r.get(k)
        .unwrap_or_else(|| panic!("no {k} in {r:?}"))
        .parse()
        .unwrap_or_else(|_| panic!("{k} not a number in {r:?}"))
}

#[test]
fn relay_both_ack_types_and_raw_relay() {
    let s = server(4, &["--chl-interval", "0"]);
    let ns = s.ns.to_string();
    let pid = s.child.id().to_string();
    for ack in ["N", "A"] {
        let r = load(&[
            "--server",
            &ns,
            "relay",
            "--pairs",
            "2",
            "--window",
            "4",
            "--count",
            "10",
            "--ack",
            ack,
            "--server-pid",
            &pid,
        ]);
        assert_eq!(r["scenario"], "relay");
        assert_eq!(num(&r, "sent"), 20.0, "{r:?}");
        assert_eq!(num(&r, "msgs"), 20.0, "{r:?}");
        assert_eq!(num(&r, "lost"), 0.0);
        assert_eq!(num(&r, "order_errors"), 0.0);
        assert_eq!(num(&r, "bad_frames"), 0.0);
        assert_eq!(
            num(&r, "acks"),
            if ack == "A" { 20.0 } else { 0.0 },
            "{r:?}"
        );
        assert!(num(&r, "msgs_per_s") > 0.0);
        assert!(num(&r, "p50_us") > 0.0 && num(&r, "p99_us") >= num(&r, "p50_us"));
        // Counted per thread to the nanosecond: 20 messages are far less than the 10 ms tick
        // of the process's own CPU count, which read 0 here.
        assert!(num(&r, "server_cpu_us_per_msg") > 0.0, "{r:?}");
    }
    // Largest payload, paced.
    let r = load(&[
        "--server", &ns, "relay", "--pairs", "1", "--count", "20", "--size", "1664", "--rate",
        "2000",
    ]);
    assert_eq!(num(&r, "msgs"), 20.0, "{r:?}");
    assert!(num(&r, "secs") >= 0.005, "pacing ignored: {r:?}");
    let r = load(&["raw-relay", "--pairs", "2", "--count", "10"]);
    assert_eq!(r["scenario"], "raw-relay");
    assert_eq!(num(&r, "msgs"), 20.0, "{r:?}");
    assert_eq!(num(&r, "order_errors"), 0.0);
}

#[test]
fn fanout_loses_nothing() {
    let s = server(4, &["--chl-interval", "0"]);
    let r = load(&[
        "--server",
        &s.ns.to_string(),
        "fanout",
        "--watchers",
        "3",
        "--rounds",
        "8",
    ]);
    assert_eq!(r["scenario"], "fanout");
    assert_eq!(num(&r, "lost"), 0.0, "{r:?}");
    assert_eq!(num(&r, "wrong"), 0.0, "{r:?}");
    assert_eq!(num(&r, "delivered"), 24.0, "{r:?}");
    assert!(num(&r, "all_p99_us") >= num(&r, "all_p50_us") && num(&r, "all_p50_us") > 0.0);
    // The floor: the same rounds through the tool's minimal relay, with the relay's CPU time.
    let r = load(&[
        "raw-fanout",
        "--watchers",
        "3",
        "--rounds",
        "8",
        "--no-spin",
    ]);
    assert_eq!(r["scenario"], "raw-fanout");
    assert_eq!(num(&r, "lost"), 0.0, "{r:?}");
    assert_eq!(num(&r, "wrong"), 0.0, "{r:?}");
    assert_eq!(num(&r, "delivered"), 24.0, "{r:?}");
    assert_eq!(r["spin"], "false");
    assert!(r.contains_key("server_cpu_us_per_nln"), "{r:?}");
}

#[test]
fn idle_sessions_ping_answer_challenges_and_measure_rss() {
    // Challenges every second: a wrong QRY would cost the session.
    let s = server(5, &["--chl-interval", "1"]);
    let pid = s.child.id().to_string();
    let r = load(&[
        "--server",
        &s.ns.to_string(),
        "idle",
        "--sessions",
        "5",
        "--hold",
        "2.5",
        "--ping",
        "0.5",
        "--server-pid",
        &pid,
    ]);
    assert_eq!(r["scenario"], "idle");
    assert_eq!(num(&r, "alive"), 5.0, "{r:?}");
    assert_eq!(num(&r, "failed"), 0.0);
    assert!(num(&r, "pongs") >= 5.0, "{r:?}");
    assert!(num(&r, "chl_answered") >= 5.0, "{r:?}");
    assert!(num(&r, "rss_before_kib") > 0.0 && num(&r, "rss_after_kib") > 0.0);
    assert!(r.contains_key("kib_per_session"));
    assert!(num(&r, "anon_before_kib") > 0.0 && r.contains_key("anon_kib_per_session"));
}

#[test]
fn md5_and_tweener_logins() {
    let s = server(5, &["--chl-interval", "0"]);
    let ns = s.ns.to_string();
    let pid = s.child.id().to_string();
    let r = load(&[
        "--server",
        &ns,
        "login",
        "--concurrency",
        "2",
        "--count",
        "5",
        "--accounts",
        "4",
        "--server-pid",
        &pid,
    ]);
    assert_eq!(r["scenario"], "login");
    assert_eq!(num(&r, "logins"), 5.0, "{r:?}");
    assert_eq!(num(&r, "failed"), 0.0);
    assert!(num(&r, "logins_per_s") > 0.0);
    assert!(num(&r, "rss_after_kib") > 0.0);
    let nexus = format!("http://{}/rdr/pprdr.asp", s.http);
    for v in ["11", "12"] {
        let r = load(&[
            "--server",
            &ns,
            "--version",
            v,
            "--nexus",
            &nexus,
            "login",
            "--concurrency",
            "1",
            "--count",
            "2",
            "--first",
            "5",
        ]);
        assert_eq!(num(&r, "logins"), 2.0, "{r:?}");
        assert!(
            num(&r, "local_hash_ms") > 0.0 && num(&r, "passport_p50_ms") > 0.0,
            "{r:?}"
        );
    }
}

/// WLM single sign-on (MSNP15 and 18): RST.srf over HTTPS checked against the kit's CA, and over
/// plain HTTP; the MBI answer is accepted (a wrong one would be 911 and `failed`), and the report
/// carries the "beyond the hash" figures of the bench row.
#[test]
fn wlm_sso_logins() {
    let s = server(6, &["--https-listen", "127.0.0.1:0"]);
    let https = s.https_addr();
    let ca = s.dir.path().join("ca.pem");
    let ns = s.ns.to_string();
    let pid = s.child.id().to_string();
    for (v, rst, with_ca) in [
        ("18", format!("https://{https}/RST.srf"), true),
        ("15", format!("https://{https}/RST.srf"), false),
        ("16", format!("http://{}/RST.srf", s.http), false),
    ] {
        let mut args = vec!["--server", &ns, "--version", v, "--rst", &rst];
        if with_ca {
            args.extend(["--ca", ca.to_str().unwrap()]);
        }
        args.extend([
            "login",
            "--concurrency",
            "2",
            "--count",
            "4",
            "--accounts",
            "4",
            "--server-pid",
            &pid,
        ]);
        let r = load(&args);
        assert_eq!(num(&r, "logins"), 4.0, "{v}: {r:?}");
        assert_eq!(num(&r, "failed"), 0.0, "{v}: {r:?}");
        assert!(num(&r, "local_hash_ms") > 0.0, "{r:?}");
        assert!(num(&r, "passport_p50_ms") > 0.0, "{r:?}");
        assert!(r.contains_key("p50_minus_hash_ms"), "{r:?}");
        // The server's share beyond the hash, both terms from the server itself: one password
        // check per sign-in, each costing it CPU, and a difference reported.
        assert_eq!(num(&r, "server_hashes"), 4.0, "{v}: {r:?}");
        assert!(num(&r, "server_hash_cpu_ms_per_login") > 0.0, "{r:?}");
        assert!(r.contains_key("server_cpu_beyond_hash_ms"), "{r:?}");
    }
    // Scenarios that build lists with ADD/ADC refuse WLM versions; a wrong password fails cleanly.
    let refused = |args: &[&str]| {
        let out = Command::new(LOAD).args(args).output().unwrap();
        assert!(!out.status.success(), "msnpd-load {args:?} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = refused(&[
        "--server",
        &ns,
        "--version",
        "18",
        "fanout",
        "--watchers",
        "2",
    ]);
    assert!(err.contains("login scenario only"), "{err}");
    let rst = format!("http://{}/RST.srf", s.http);
    let err = refused(&[
        "--server",
        &ns,
        "--version",
        "18",
        "--rst",
        &rst,
        "--password",
        "wrong",
        "login",
        "--count",
        "1",
        "--concurrency",
        "1",
    ]);
    assert!(err.contains("no messengerclear token"), "{err}");
}
