//! The `login`, `idle` and `fanout` scenarios.

use crate::engine::Epoll;
use crate::msnp::{Session, Target, local_hash_cost, login};
use crate::net::{Conn, Error, R, io_timeout};
use crate::stats::{Report, Samples, cpu_secs, rss_anon_kib, rss_kib, server_hash_cpu};
use msnpd::dialect::Auth;
use msnpd::model::Status;
use msnpd::protocol::command::ClientCommand;
use msnpd::protocol::command::presence::Chg;
use smol::LocalExecutor;
use smol::io::AsyncWriteExt;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::time::{Duration, Instant};

pub type Ex = &'static LocalExecutor<'static>;

/// Runs `f(i)` for i in 0..n with at most `c` running at once; returns the errors.
pub async fn concurrent<F, Fut>(ex: Ex, n: usize, c: usize, f: F) -> Vec<Error>
where
    F: Fn(usize) -> Fut + 'static,
    Fut: Future<Output = R<()>> + 'static,
{
    let f = Rc::new(f);
    let next = Rc::new(Cell::new(0usize));
    let errors = Rc::new(RefCell::new(Vec::new()));
    let tasks: Vec<_> = (0..c.max(1).min(n.max(1)))
        .map(|_| {
            let (f, next, errors) = (f.clone(), next.clone(), errors.clone());
            ex.spawn(async move {
                loop {
                    let i = next.get();
                    if i >= n {
                        break;
                    }
                    next.set(i + 1);
                    if let Err(e) = f(i).await {
                        errors.borrow_mut().push(e);
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await;
    }
    Rc::try_unwrap(errors)
        .map(|e| e.into_inner())
        .unwrap_or_default()
}

fn first_error(errors: &[Error]) -> R<()> {
    match errors.first() {
        Some(e) => Err(format!("{} failures, first: {e}", errors.len()).into()),
        None => Ok(()),
    }
}

pub struct LoginArgs {
    pub concurrency: usize,
    pub count: Option<u64>,
    pub duration: Option<f64>,
    pub first: usize,
    pub accounts: usize,
    pub server_pid: Option<u32>,
}

pub async fn login_scenario(ex: Ex, t: Rc<Target>, a: LoginArgs) -> R<()> {
    let c = a.concurrency.max(1);
    let accounts = a.accounts.max(c);
    let slots = accounts / c;
    let rss0 = a.server_pid.and_then(rss_kib);
    let hash = (t.dialect().auth != Auth::Md5).then(|| local_hash_cost(a.server_pid));
    let count = a.count.unwrap_or(u64::MAX);
    let deadline = a
        .duration
        .map(|d| Instant::now() + Duration::from_secs_f64(d));
    if a.count.is_none() && deadline.is_none() {
        return Err("login: give --count or --duration".into());
    }
    let started_n = Rc::new(Cell::new(0u64));
    let lat = Rc::new(RefCell::new(Samples::default()));
    let pp = Rc::new(RefCell::new(Samples::default()));
    let failed = Rc::new(RefCell::new(Vec::<Error>::new()));
    // Asked outside the CPU samples: the question costs the server a little CPU of its own.
    let hash0 = hash.and(a.server_pid).and_then(server_hash_cpu);
    let cpu0 = (cpu_secs(None), a.server_pid.and_then(|p| cpu_secs(Some(p))));
    let t0 = Instant::now();
    let workers: Vec<_> = (0..c)
        .map(|w| {
            let (t, started_n, lat, pp, failed) = (
                t.clone(),
                started_n.clone(),
                lat.clone(),
                pp.clone(),
                failed.clone(),
            );
            ex.spawn(async move {
                let mut round = 0usize;
                loop {
                    if started_n.get() >= count || deadline.is_some_and(|d| Instant::now() >= d) {
                        break;
                    }
                    started_n.set(started_n.get() + 1);
                    let n = a.first + w + c * (round % slots);
                    round += 1;
                    let s = Instant::now();
                    let r: R<()> = async {
                        let (mut sess, times) = login(&t, n).await?;
                        sess.online(Status::Online).await?;
                        let total = s.elapsed();
                        lat.borrow_mut().push_d(total);
                        if t.dialect().auth != Auth::Md5 {
                            pp.borrow_mut().push_d(times.passport);
                        }
                        sess.out().await
                    }
                    .await;
                    if let Err(e) = r {
                        failed
                            .borrow_mut()
                            .push(format!("{}: {e}", t.handle(n)).into());
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.await;
    }
    let secs = t0.elapsed().as_secs_f64();
    let cpu1 = (cpu_secs(None), a.server_pid.and_then(|p| cpu_secs(Some(p))));
    let hash1 = hash0.and(a.server_pid).and_then(server_hash_cpu);
    let mut lat = lat.take();
    let ok = lat.0.len();
    let failed = failed.take();
    if let Some(e) = failed.first() {
        eprintln!("login: {} failed, first: {e}", failed.len());
    }
    let mut r = Report::new("login");
    r.kv("version", t.version)
        .kv("concurrency", c)
        .kv("logins", ok)
        .kv("failed", failed.len())
        .kv("secs", format!("{secs:.3}"))
        .kv("logins_per_s", format!("{:.1}", ok as f64 / secs))
        .kv("p50_ms", lat.ms(50.0))
        .kv("p99_ms", lat.ms(99.0));
    if let (Some(x), Some(y)) = (cpu0.0, cpu1.0) {
        r.kv("gen_cpu_pct", format!("{:.0}", 100.0 * (y - x) / secs));
    }
    if let (Some(x), Some(y)) = (cpu0.1, cpu1.1) {
        r.kv("server_cpu_pct", format!("{:.0}", 100.0 * (y - x) / secs));
    }
    if let Some(h) = hash {
        let mut pp = pp.take();
        let p50 = lat.pct(50.0) as f64 / 1e6;
        let h = h.as_secs_f64() * 1e3;
        r.kv("passport_p50_ms", pp.ms(50.0))
            .kv("local_hash_ms", format!("{h:.3}"))
            .kv("p50_minus_hash_ms", format!("{:.3}", p50 - h));
        // The server's own CPU per login beyond the hash: independent of the generator's share
        // of the latency (its TLS and key derivation run on another CPU, but in the wall time).
        // Both terms come from the server over the same interval: its process CPU time, and the
        // thread CPU time it spent inside its password checks (its `/status`), so the CPU speed
        // drifting between the two measurements cannot show up as login cost.
        if let (Some(x), Some(y)) = (cpu0.1, cpu1.1)
            && ok > 0
        {
            let per = (y - x) * 1e3 / ok as f64;
            r.kv("server_cpu_ms_per_login", format!("{per:.3}"));
            if let (Some((n0, c0)), Some((n1, c1))) = (hash0, hash1) {
                let hash_per = (c1 - c0).as_secs_f64() * 1e3 / ok as f64;
                r.kv("server_hashes", n1 - n0)
                    .kv("server_hash_cpu_ms_per_login", format!("{hash_per:.3}"))
                    .kv(
                        "server_cpu_beyond_hash_ms",
                        format!("{:.3}", per - hash_per),
                    );
            }
        }
    }
    if let (Some(pid), Some((b, _))) = (a.server_pid, rss0) {
        smol::Timer::after(Duration::from_millis(500)).await;
        if let Some((after, hwm)) = rss_kib(pid) {
            r.kv("rss_before_kib", b)
                .kv("rss_after_kib", after)
                .kv("rss_hwm_kib", hwm);
        }
    }
    r.print();
    if ok == 0 {
        return Err("no login succeeded".into());
    }
    Ok(())
}

pub struct IdleArgs {
    pub sessions: usize,
    pub concurrency: usize,
    pub first: usize,
    pub hold: f64,
    pub ping: f64,
    pub server_pid: Option<u32>,
}

pub async fn idle_scenario(ex: Ex, t: Rc<Target>, a: IdleArgs) -> R<()> {
    let rss0 = a.server_pid.and_then(rss_kib);
    let anon0 = a.server_pid.and_then(rss_anon_kib);
    let alive = Rc::new(Cell::new(0usize));
    let pongs = Rc::new(Cell::new(0u64));
    let pings = Rc::new(Cell::new(0u64));
    let pinging = Rc::new(Cell::new(true));
    let chl = Rc::new(Cell::new(0u64));
    let ping = Duration::from_secs_f64(a.ping.max(0.05));
    let t0 = Instant::now();
    let errors = {
        let (t, alive, pongs, chl) = (t.clone(), alive.clone(), pongs.clone(), chl.clone());
        let (pings, pinging) = (pings.clone(), pinging.clone());
        concurrent(ex, a.sessions, a.concurrency, move |i| {
            let (t, alive, pongs, chl) = (t.clone(), alive.clone(), pongs.clone(), chl.clone());
            let (pings, pinging) = (pings.clone(), pinging.clone());
            async move {
                let (mut s, _) = login(&t, a.first + i).await?;
                s.online(Status::Online).await?;
                alive.set(alive.get() + 1);
                let stream = s.ns.stream.clone();
                // Pinger: PNG every `ping` like a real client (the first one spread over the
                // first interval, so the sessions do not all ping at once); the reader counts QNG
                // and answers CHL.
                let first = ping.mul_f64((i as f64 + 0.5) / a.sessions.max(1) as f64);
                ex.spawn(async move {
                    let mut wait = first;
                    loop {
                        smol::Timer::after(wait).await;
                        wait = ping;
                        if !pinging.get() {
                            break;
                        }
                        if (&*stream).write_all(b"PNG\r\n").await.is_err() {
                            break;
                        }
                        pings.set(pings.get() + 1);
                    }
                })
                .detach();
                ex.spawn(async move {
                    let mut answered = s.ns.chl_answered;
                    loop {
                        match s.ns.next_no_timeout().await {
                            Ok(f) if f.starts("QNG") => pongs.set(pongs.get() + 1),
                            Ok(_) => {}
                            Err(_) => break,
                        }
                        chl.set(chl.get() + (s.ns.chl_answered - answered) as u64);
                        answered = s.ns.chl_answered;
                    }
                    alive.set(alive.get() - 1);
                })
                .detach();
                Ok(())
            }
        })
        .await
    };
    let login_secs = t0.elapsed().as_secs_f64();
    if let Some(e) = errors.first() {
        eprintln!("idle: {} logins failed, first: {e}", errors.len());
    }
    eprintln!(
        "idle: {} sessions online after {login_secs:.1} s; holding {} s",
        alive.get(),
        a.hold
    );
    // Hold for at least one ping interval after the last login, so every session pings.
    let hold = a.hold.max(a.ping);
    smol::Timer::after(Duration::from_secs_f64(hold)).await;
    // Measure memory while every session is still connected, then stop pinging and wait (up to
    // the I/O timeout) for the answers to the pings already sent.
    let rss_end = a.server_pid.and_then(rss_kib);
    let anon_end = a.server_pid.and_then(rss_anon_kib);
    pinging.set(false);
    let end = Instant::now() + io_timeout();
    while pongs.get() < pings.get() && Instant::now() < end && alive.get() > 0 {
        smol::Timer::after(Duration::from_millis(10)).await;
    }
    let mut r = Report::new("idle");
    r.kv("version", t.version)
        .kv("sessions", a.sessions)
        .kv("alive", alive.get())
        .kv("failed", errors.len())
        .kv("login_secs", format!("{login_secs:.2}"))
        .kv("hold_secs", hold)
        .kv("ping_secs", a.ping)
        .kv("pings", pings.get())
        .kv("pongs", pongs.get())
        .kv("unanswered", pings.get().saturating_sub(pongs.get()))
        .kv("chl_answered", chl.get());
    if let Some((before, _)) = rss0 {
        let (after, hwm) = rss_end.ok_or("cannot read the server's /proc status")?;
        let per = (after as f64 - before as f64) / a.sessions.max(1) as f64;
        r.kv("rss_before_kib", before)
            .kv("rss_after_kib", after)
            .kv("rss_hwm_kib", hwm)
            .kv("kib_per_session", format!("{per:.2}"));
    }
    if let (Some(before), Some(after)) = (anon0, anon_end) {
        let per = (after as f64 - before as f64) / a.sessions.max(1) as f64;
        r.kv("anon_before_kib", before)
            .kv("anon_after_kib", after)
            .kv("anon_kib_per_session", format!("{per:.2}"));
    }
    r.print();
    if pings.get() < alive.get() as u64 || pongs.get() < pings.get() {
        return Err(format!(
            "idle: {} sessions sent {} pings, {} answered",
            alive.get(),
            pings.get(),
            pongs.get()
        )
        .into());
    }
    first_error(&errors)
}

pub struct FanoutArgs {
    pub watchers: usize,
    pub rounds: usize,
    pub first: usize,
    pub concurrency: usize,
    pub interval_ms: u64,
    /// The server, to report its CPU time per delivered NLN.
    pub server_pid: Option<u32>,
    /// Through the minimal relay (names the report `raw-fanout`).
    pub raw: bool,
    /// Poll without sleeping while a round is out (as `relay` does: a sleeping CPU wakes
    /// slowly, most of all in a VM, and on loopback the server's CPU pays for waking it).
    pub spin: bool,
}

pub async fn fanout_scenario(ex: Ex, t: Rc<Target>, a: FanoutArgs) -> R<()> {
    let k = a.watchers;
    let target = t.handle(a.first);
    // Watchers: log in, put the target on FL, go online.
    let sessions = Rc::new(RefCell::new(Vec::new()));
    let errors = {
        let (t, sessions, target) = (t.clone(), sessions.clone(), target.clone());
        concurrent(ex, k, a.concurrency, move |i| {
            let (t, sessions, target) = (t.clone(), sessions.clone(), target.clone());
            async move {
                let (mut s, _) = login(&t, a.first + 1 + i).await?;
                s.online(Status::Online).await?;
                s.add_fl(&target).await?;
                sessions.borrow_mut().push(s.ns);
                Ok(())
            }
        })
        .await
    };
    first_error(&errors)?;
    let mut watchers = sessions.take();
    // Round 0: the target signs in (everyone sees NLN NLN).
    let (mut u, _) = login(&t, a.first).await?;
    u.online(Status::Online).await?;
    for c in &mut watchers {
        loop {
            let f = c
                .next()
                .await
                .map_err(|e| format!("a watcher never saw {target} sign in: {e}"))?;
            if f.starts("NLN ") && f.arg(2) == target {
                break;
            }
        }
    }
    let dialect = u.dialect;
    let mut rep = fan_rounds(&a, &target, watchers, u.ns, |r, status| {
        let chg = Chg::new(Status::parse(status).expect("a status code"), dialect);
        chg.to_bytes(1000 + r as u32, dialect)
    })?;
    rep.kv("version", t.version).print();
    Ok(())
}

/// The fan-out byte pattern through the minimal relay's broadcast mode: K watchers, one trigger
/// whose every line the relay writes to all of them as an `NLN`, one `write` per watcher and
/// nothing else. What the kernel and this generator cost on their own: the floor for `fanout`.
pub async fn raw_fanout_scenario(relay: std::net::SocketAddr, a: FanoutArgs) -> R<()> {
    let target = format!("user{}@example.com", a.first);
    let mut watchers = Vec::with_capacity(a.watchers);
    for _ in 0..a.watchers {
        let mut c = Conn::connect(relay).await?;
        c.send_line("WATCH").await?;
        c.expect("OK").await?;
        watchers.push(c);
    }
    let mut trigger = Conn::connect(relay).await?;
    trigger.send_line(&format!("FAN {target}")).await?;
    trigger.expect("OK").await?;
    let mut rep = fan_rounds(&a, &target, watchers, trigger, |_, status| {
        format!("{status}\r\n").into_bytes()
    })?;
    rep.kv("relay", relay).print();
    Ok(())
}

/// The measured rounds, as a level-triggered epoll loop on this thread (one `read` per ready
/// watcher, no task wake-ups: the generator must not be what is measured). Each round writes
/// `line(round, status)` on `trigger` and times until every watcher has the `NLN` with that
/// status; the report has those times, losses and the server's CPU per delivered `NLN`.
fn fan_rounds(
    a: &FanoutArgs,
    target: &str,
    mut watchers: Vec<Conn>,
    mut trigger: Conn,
    line: impl Fn(usize, &'static str) -> Vec<u8>,
) -> R<Report> {
    use std::io::Write;
    use std::os::fd::AsRawFd;
    const CYCLE: [&str; 4] = ["BSY", "AWY", "BRB", "NLN"];
    const TRIGGER: u64 = u64::MAX;
    let k = watchers.len();
    let mut ep = Epoll::new()?;
    for (i, c) in watchers.iter_mut().enumerate() {
        while c.try_frame()?.is_some() {}
        ep.add(c.stream.as_raw_fd(), libc::EPOLLIN as u32, i as u64)?;
    }
    ep.add(trigger.stream.as_raw_fd(), libc::EPOLLIN as u32, TRIGGER)?;
    let mut seen = vec![0usize; k];
    let (mut all, mut lat) = (Samples::default(), Samples::default());
    let (mut lost, mut wrong) = (0u64, 0u64);
    let cpu0 = a.server_pid.and_then(|p| cpu_secs(Some(p)));
    let t_start = Instant::now();
    for r in 1..=a.rounds {
        let status = CYCLE[(r - 1) % CYCLE.len()];
        let bytes = line(r, status);
        let mut got = 0;
        let t0 = Instant::now();
        trigger.stream.get_ref().write_all(&bytes)?;
        let deadline = t0 + io_timeout().min(Duration::from_secs(5));
        while got < k {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let wait = if a.spin {
                0
            } else {
                left.as_millis().max(1) as i32
            };
            for (tok, _) in ep.wait(wait)? {
                let c = match tok {
                    TRIGGER => &mut trigger,
                    i => &mut watchers[i as usize],
                };
                if !c.read_ready()? {
                    return Err("connection closed by the server".into());
                }
                while let Some(f) = c.try_frame()? {
                    // NLN status handle name ... (the trigger's CHG answers are only drained).
                    if tok == TRIGGER || !f.starts("NLN ") || f.arg(2) != target {
                        continue;
                    }
                    let i = tok as usize;
                    if f.arg(1) != status {
                        wrong += 1;
                    } else if seen[i] != r {
                        seen[i] = r;
                        lat.push_d(t0.elapsed());
                        got += 1;
                    }
                }
            }
        }
        if got == k {
            all.push_d(t0.elapsed());
        } else {
            lost += (k - got) as u64;
        }
        if a.interval_ms > 0 {
            std::thread::sleep(Duration::from_millis(a.interval_ms));
        }
    }
    let secs = t_start.elapsed().as_secs_f64();
    let cpu1 = a.server_pid.and_then(|p| cpu_secs(Some(p)));
    let mut rep = Report::new(if a.raw { "raw-fanout" } else { "fanout" });
    rep.kv("watchers", k)
        .kv("rounds", a.rounds)
        .kv("delivered", lat.0.len())
        .kv("lost", lost)
        .kv("wrong", wrong)
        .kv("secs", format!("{secs:.3}"))
        .kv("all_p50_us", all.us(50.0))
        .kv("all_p99_us", all.us(99.0))
        .kv("p50_us", lat.us(50.0))
        .kv("p99_us", lat.us(99.0))
        .kv("spin", a.spin);
    if let (Some(x), Some(y)) = (cpu0, cpu1) {
        // Over the status-change rounds only (the watchers' logins are before `cpu0`).
        rep.kv(
            "server_cpu_pct",
            format!("{:.0}", 100.0 * (y - x) / secs.max(1e-9)),
        )
        .kv(
            "server_cpu_us_per_nln",
            format!("{:.3}", (y - x) * 1e6 / lat.0.len().max(1) as f64),
        );
    }
    Ok(rep)
}

/// Helper used by relay: logs in and goes online.
pub async fn online(t: &Target, n: usize) -> R<Session> {
    let (mut s, _) = login(t, n).await?;
    s.online(Status::Online).await?;
    Ok(s)
}
