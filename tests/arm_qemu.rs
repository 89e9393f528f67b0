//! The ARM leg: `make test-arm` builds the aarch64 binary and the ARMv6 one (Pi Zero / Pi 1) and
//! runs these against each under qemu-user (`MSNPD_BIN`, `MSNPD_RUNNER`): the aarch64 binary under
//! qemu-aarch64, the ARMv6 one under `qemu-arm -cpu arm1176`, which raises SIGILL on any ARMv7
//! instruction (`arm1176_emulation_rejects_armv7_code` proves that on every run). Ignored in the
//! normal suite, which tests the host build with the same code paths.
mod common;
use common::*;
use std::os::unix::process::ExitStatusExt;
use std::process::Command;

fn require_arm() {
    let bin = std::env::var("MSNPD_BIN").expect("run through `make test-arm` (MSNPD_BIN unset)");
    let info = std::process::Command::new("file")
        .arg(&bin)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    if let Ok(info) = info {
        assert!(
            info.contains("aarch64") || info.contains("ARM"),
            "not an ARM binary: {info}"
        );
    }
    // The ARMv6 leg also checks which CPU the binary was built for (`MSNPD_ARM_ARCH=v6`): lld
    // keeps the first object's build attributes, so this catches a wrong target or toolchain,
    // not a stray ARMv7 object; that is what running under `qemu-arm -cpu arm1176` is for.
    if let Ok(arch) = std::env::var("MSNPD_ARM_ARCH") {
        let out = Command::new("readelf").args(["-A", &bin]).output().unwrap();
        let attrs = String::from_utf8_lossy(&out.stdout);
        let tag = attrs
            .lines()
            .find_map(|l| l.trim().strip_prefix("Tag_CPU_arch: "))
            .unwrap_or_else(|| panic!("no Tag_CPU_arch in readelf -A {bin}: {attrs}"));
        assert!(
            tag.starts_with(&arch) && !tag.contains("T2"),
            "{bin} is built for {tag}, want {arch}"
        );
    }
}

/// The emulator this leg runs under must kill ARMv7 code, or passing the other tests would not
/// prove the binary is ARMv6: a static program whose only instruction beyond ARMv6 is `movw`
/// (ARMv6T2/ARMv7), built with the same compiler and libc as the ARMv6 msnpd, dies of SIGILL
/// under `$MSNPD_RUNNER`, and the same program without it exits 0.
#[test]
#[ignore = "needs the ARMv6 toolchain (cross/armv6-cc) and qemu-arm: make test-arm"]
fn arm1176_emulation_rejects_armv7_code() {
    let cc = std::env::var("MSNPD_ARMV6_CC").expect("run through `make test-arm` (MSNPD_ARMV6_CC)");
    let runner = std::env::var("MSNPD_RUNNER").expect("MSNPD_RUNNER unset");
    assert!(
        runner.contains("arm1176"),
        "not an ARM1176 runner: {runner}"
    );
    let dir = TempDir::new();
    let run = |name: &str, body: &str| {
        let src = dir.path().join(format!("{name}.c"));
        let exe = dir.path().join(name);
        std::fs::write(&src, body).unwrap();
        let built = Command::new(&cc)
            .args(["-O1", "-static", "-o"])
            .arg(&exe)
            .arg(&src)
            .status()
            .unwrap();
        assert!(built.success(), "{cc} failed on {name}.c");
        let mut parts = runner.split_whitespace();
        Command::new(parts.next().unwrap())
            .args(parts)
            .arg(&exe)
            .output()
            .unwrap()
            .status
    };
    let v6 = run(
        "v6",
        "int main(void){ unsigned x = 1; __asm__ volatile(\"add %0, %0, #1\" : \"+r\"(x)); return x != 2; }\n",
    );
    assert!(v6.success(), "ARMv6 program failed: {v6:?}");
    let v7 = run(
        "v7",
        "int main(void){ unsigned x; __asm__ volatile(\".arch armv7-a\\n movw %0, #1234\" : \"=r\"(x)); return x != 1234; }\n",
    );
    assert_eq!(
        v7.signal(),
        Some(libc::SIGILL),
        "an ARMv7 instruction ran under {runner}: {v7:?}"
    );
}

#[test]
#[ignore = "needs the aarch64 build and qemu-user: make test-arm"]
fn arm_binary_serves_md5_tweener_and_switchboard() {
    require_arm();
    // Accounts are created by the ARM binary itself.
    let server = TestServer::start(&[("alice@example.com", "pw-a"), ("bob@example.com", "pw-b")]);
    let (code, out, _) = msnpd(&["user", "list", "--db", server.db.to_str().unwrap()], None);
    assert_eq!(code, 0);
    assert!(
        out.contains("alice@example.com") && out.contains("bob@example.com"),
        "{out}"
    );
    // MD5 login (MSNP7) and Tweener login (MSNP12) against the ARM server.
    let mut alice = online(&server, 7, "alice@example.com", "pw-a");
    let mut bob = online_any(&server, 12, "bob@example.com", "pw-b");
    // A switchboard message from alice to bob.
    let t = alice.t();
    alice.send(&format!("XFR {t} SB"));
    let x = alice.expect(&format!("XFR {t} SB "));
    let p: Vec<&str> = x.split(' ').collect();
    let mut sa = Client::connect(p[3].parse().unwrap());
    sa.send(&format!("USR 1 alice@example.com {}", p[5]));
    sa.expect("USR 1 OK alice@example.com");
    sa.send("CAL 2 bob@example.com");
    let ring = sa.expect("CAL 2 RINGING ");
    let sessid = ring.rsplit(' ').next().unwrap().to_string();
    let (rng, _) = bob.until("RNG ");
    let r: Vec<&str> = rng.split(' ').collect();
    let mut sb = Client::connect(r[2].parse().unwrap());
    sb.send(&format!("ANS 1 bob@example.com {} {sessid}", r[4]));
    sb.until("ANS 1 OK");
    sa.expect("JOI bob@example.com");
    let msg = b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nhello from ARM";
    sa.send_payload(&format!("MSG 3 A {}", msg.len()), msg);
    sa.expect("ACK 3");
    let (_, body) = sb.expect_payload("MSG alice@example.com ");
    assert_eq!(body, msg);
}

#[test]
#[ignore = "needs the aarch64 build and qemu-user: make test-arm"]
fn arm_binary_serves_https_for_old_and_new_clients() {
    require_arm();
    // The kit is made by the host (RSA key generation under qemu takes seconds); the ARM server
    // reuses it, which is the path every start after the first takes.
    let kit = TempDir::new();
    msnpd::tls::kit::init(kit.path(), &msnpd::tls::kit::default_names(&[]), false).unwrap();
    let server = TestServer::start_with(
        &[("alice@example.com", "pw-a")],
        &[
            "--https-listen",
            "127.0.0.1:0",
            "--tls-dir",
            kit.path().to_str().unwrap(),
        ],
    );
    let ca = std::fs::read(kit.path().join("ca.pem")).unwrap();
    let legacy = |b: &mut openssl::ssl::SslConnectorBuilder| {
        b.set_security_level(0);
        b.set_max_proto_version(Some(openssl::ssl::SslVersion::TLS1))
            .unwrap();
        b.set_cipher_list("DES-CBC3-SHA").unwrap();
    };
    let modern = |_: &mut openssl::ssl::SslConnectorBuilder| {};
    let tweaks: [&dyn Fn(&mut openssl::ssl::SslConnectorBuilder); 2] = [&modern, &legacy];
    for (tweak, cipher) in tweaks.into_iter().zip(["TLS_AES", "DES-CBC3-SHA"]) {
        let r = https_request(
            server.https_addr(),
            "nexus.passport.com",
            &ca,
            "GET /rdr/pprdr.asp HTTP/1.1\r\n",
            b"",
            tweak,
        )
        .unwrap();
        assert_eq!(
            header(&r.headers, "PassportURLs"),
            Some("DALogin=nexus.passport.com/login2.srf")
        );
        assert!(r.cipher.starts_with(cipher), "{}", r.cipher);
    }
}
