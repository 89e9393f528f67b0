//! What stays resident after start-up (issue 22, docs/pi.md "Size and memory").
//!
//! Starting the server runs code that an idle or lightly loaded server never runs again:
//! OpenSSL's provider set-up and the certificate kit, SQLite's open and migrations, the command
//! line and config parsing. Each page fault on a file mapping maps the 64 KiB around it
//! (fault-around), so start-up leaves most of the binary's code, its read-only data and much of
//! libc mapped: about 7 of the 9 MiB an idle server showed as RSS. Those pages belong to the
//! page cache, not to the process; once start-up is done the server drops its mappings of them.
//! The pages stay in the page cache (unmapped, so the kernel reclaims them first under memory
//! pressure) and are mapped again, by a minor fault, when code on them runs.

/// Drops this process's mappings of file-backed code and read-only data that no write has
/// touched, and returns how many KiB were resident in them. Mappings with private copies of
/// pages (relocated read-only data, `Anonymous` > 0 in smaps) are left alone: dropping those
/// would lose the copy.
pub fn release_startup_pages() -> u64 {
    #[cfg(target_os = "linux")]
    {
        let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
            return 0;
        };
        let mut released = 0;
        for m in clean_file_mappings(&smaps) {
            // SAFETY: the range is a whole mapping of this process, read-only or read-execute,
            // backed by a file and with no privately modified page (`clean_file_mappings`):
            // MADV_DONTNEED only unmaps its pages, and every later access maps the same bytes
            // again from the page cache. No code is unmapped, so running on it is unaffected.
            let r =
                unsafe { libc::madvise(m.start as *mut libc::c_void, m.len, libc::MADV_DONTNEED) };
            if r == 0 {
                released += m.rss_kib;
            }
        }
        released
    }
    #[cfg(not(target_os = "linux"))]
    {
        0
    }
}

/// A mapping `release_startup_pages` may drop.
#[derive(Debug, PartialEq)]
struct Clean {
    start: usize,
    len: usize,
    rss_kib: u64,
}

/// The mappings of `/proc/self/smaps` that are private, not writable, backed by a file (inode
/// not 0) and hold no anonymous (copied-on-write) page.
fn clean_file_mappings(smaps: &str) -> Vec<Clean> {
    let mut out = Vec::new();
    let mut current: Option<(Clean, bool)> = None;
    let mut anonymous_seen = false;
    let finish = |c: Option<(Clean, bool)>, anon_ok: bool, out: &mut Vec<Clean>| {
        if let Some((m, true)) = c
            && anon_ok
        {
            out.push(m);
        }
    };
    for line in smaps.lines() {
        let mut f = line.split_ascii_whitespace();
        let Some(first) = f.next() else { continue };
        if let Some((a, b)) = first.split_once('-')
            && let (Ok(start), Ok(end)) =
                (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
        {
            // A new mapping's header line.
            finish(current.take(), anonymous_seen, &mut out);
            anonymous_seen = false;
            let perms = f.next().unwrap_or("");
            let _offset = f.next();
            let _dev = f.next();
            let inode = f.next().unwrap_or("0");
            let path = f.next().unwrap_or("");
            let candidate = (perms == "r-xp" || perms == "r--p")
                && inode != "0"
                && path.starts_with('/')
                && end > start;
            current = Some((
                Clean {
                    start,
                    len: end - start,
                    rss_kib: 0,
                },
                candidate,
            ));
            continue;
        }
        let value = || f.clone().next().and_then(|v| v.parse::<u64>().ok());
        match first {
            "Rss:" => {
                if let Some((m, _)) = current.as_mut() {
                    m.rss_kib = value().unwrap_or(0);
                }
            }
            "Anonymous:" => {
                // Unknown counts as modified: keep the mapping.
                anonymous_seen = value() == Some(0);
            }
            _ => {}
        }
    }
    finish(current.take(), anonymous_seen, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
55d0c0000000-55d0c0200000 r--p 00000000 fe:01 1234 /usr/bin/msnpd
Size:               2048 kB
Rss:                1344 kB
Anonymous:             0 kB
55d0c0200000-55d0c0700000 r-xp 00200000 fe:01 1234 /usr/bin/msnpd
Size:               5120 kB
Rss:                4524 kB
Anonymous:             0 kB
55d0c0700000-55d0c0760000 r--p 00700000 fe:01 1234 /usr/bin/msnpd
Size:                384 kB
Rss:                 376 kB
Anonymous:           376 kB
55d0c0760000-55d0c0770000 rw-p 00760000 fe:01 1234 /usr/bin/msnpd
Rss:                  44 kB
Anonymous:            44 kB
55d0c1000000-55d0c1100000 rw-p 00000000 00:00 0 [heap]
Rss:                 768 kB
Anonymous:           768 kB
7f0000000000-7f0000008000 rw-s 00000000 fe:01 99 /var/lib/msnpd/msnpd.db-shm
Rss:                  32 kB
Anonymous:             0 kB
7f0000100000-7f0000250000 r-xp 00026000 fe:01 77 /usr/lib/x86_64-linux-gnu/libc.so.6
Rss:                1160 kB
Anonymous:             0 kB
7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0 [vdso]
Rss:                   8 kB
Anonymous:             0 kB
";

    #[test]
    fn only_clean_read_only_file_mappings_are_dropped() {
        let got = clean_file_mappings(SMAPS);
        assert_eq!(
            got,
            vec![
                Clean {
                    start: 0x55d0c0000000,
                    len: 0x200000,
                    rss_kib: 1344
                },
                Clean {
                    start: 0x55d0c0200000,
                    len: 0x500000,
                    rss_kib: 4524
                },
                Clean {
                    start: 0x7f0000100000,
                    len: 0x150000,
                    rss_kib: 1160
                },
            ]
        );
    }

    #[test]
    fn a_mapping_without_an_anonymous_line_is_kept() {
        let smaps = "7f0000100000-7f0000250000 r-xp 00026000 fe:01 77 /lib/libc.so.6\nRss: 8 kB\n";
        assert!(clean_file_mappings(smaps).is_empty());
    }

    #[test]
    fn releasing_keeps_the_process_running() {
        // Drops this test binary's own code and read-only data; running on proves them mapped
        // again on use.
        let _ = release_startup_pages();
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(v.iter().sum::<u64>(), 5050);
        assert!(format!("{:?}", clean_file_mappings("")).contains("[]"));
    }
}
