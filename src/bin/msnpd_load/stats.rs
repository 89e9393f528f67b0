//! Percentiles, server memory and the RESULT line.

use std::fmt::Write;
use std::time::Duration;

/// Latency samples in nanoseconds.
#[derive(Default)]
pub struct Samples(pub Vec<u64>);

impl Samples {
    pub fn push(&mut self, ns: u64) {
        self.0.push(ns);
    }
    pub fn push_d(&mut self, d: Duration) {
        self.0.push(d.as_nanos() as u64);
    }
    /// The `p`-th percentile (0-100), nearest rank; 0 when empty.
    pub fn pct(&mut self, p: f64) -> u64 {
        if self.0.is_empty() {
            return 0;
        }
        self.0.sort_unstable();
        let rank = ((p / 100.0) * self.0.len() as f64).ceil() as usize;
        self.0[rank.clamp(1, self.0.len()) - 1]
    }
    pub fn us(&mut self, p: f64) -> String {
        format!("{:.1}", self.pct(p) as f64 / 1e3)
    }
    pub fn ms(&mut self, p: f64) -> String {
        format!("{:.3}", self.pct(p) as f64 / 1e6)
    }
}

/// `VmRSS` and `VmHWM` of a process, in KiB.
pub fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// `RssAnon` of a process, in KiB: its heap, stacks and other private memory, without the code
/// and read-only data it maps from files (shared with the page cache, and the same for one
/// session as for ten thousand).
pub fn rss_anon_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// CPU seconds (user + system) used so far by a process (`None`: this one).
pub fn cpu_secs(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    let s = std::fs::read_to_string(path).ok()?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some(ticks / hz.max(1.0))
}

/// The CPU time of each thread of a process, in nanoseconds (`/proc/PID/task/*/schedstat`, its
/// first field). At 1,000 msg/s a 5 s run is 5,000 messages, and `/proc/PID/stat`'s 10 ms ticks
/// would round the CPU per message to 2 us; this is exact to the nanosecond.
pub struct ThreadCpu(Vec<(u32, u64)>);

impl ThreadCpu {
    /// `None` when the kernel has no per-thread schedstat (or the process is gone).
    pub fn read(pid: u32) -> Option<ThreadCpu> {
        let mut threads = Vec::new();
        for entry in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
            let entry = entry.ok()?;
            let Some(tid) = entry.file_name().to_str().and_then(|t| t.parse().ok()) else {
                continue;
            };
            // A thread that ended since the listing is simply not counted.
            let Ok(s) = std::fs::read_to_string(entry.path().join("schedstat")) else {
                continue;
            };
            threads.push((tid, s.split_whitespace().next()?.parse().ok()?));
        }
        Some(ThreadCpu(threads))
    }

    /// CPU seconds run from `self` to `later`: by the threads in both, and all of those started
    /// in between. A thread that ended in between is missed from its last reading on; in a run
    /// those are the server's blocking-pool threads ending after an idle spell.
    pub fn secs_until(&self, later: &ThreadCpu) -> f64 {
        let ns: u64 = later
            .0
            .iter()
            .map(|&(tid, t)| {
                let before = self
                    .0
                    .iter()
                    .find(|(id, _)| *id == tid)
                    .map_or(0, |&(_, b)| b);
                t.saturating_sub(before)
            })
            .sum();
        ns as f64 / 1e9
    }
}

/// The one machine-readable line: `RESULT key=value ...`.
pub struct Report(String);

impl Report {
    pub fn new(scenario: &str) -> Report {
        Report(format!("RESULT scenario={scenario}"))
    }
    pub fn kv(&mut self, k: &str, v: impl std::fmt::Display) -> &mut Report {
        let _ = write!(self.0, " {k}={v}");
        self
    }
    pub fn print(&self) {
        println!("{}", self.0);
    }
}

/// The password checks a running msnpd has made and their total thread CPU time, as its
/// operator's `/status` endpoint reports them. The server is found by its pid: the lock file it
/// holds open beside its database (`/proc/PID/fd`) names its HTTP listener and the status token.
pub fn server_hash_cpu(pid: u32) -> Option<(u64, Duration)> {
    let lock = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()?
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .find(|p| p.extension().is_some_and(|x| x == "lock"))?;
    let db = lock.with_extension("");
    let published = msnpd::ops::published(&db)?;
    let http = published
        .listeners
        .iter()
        .find(|(what, _)| what == "http")
        .map(|(_, a)| msnpd::ops::reachable_form(*a))?;
    let status = msnpd::ops::ask_status(http, &published.token).ok()?;
    Some((status.password_hashes, status.password_hash_cpu))
}
