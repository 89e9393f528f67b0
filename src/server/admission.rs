//! Connection admission: the connection caps (in all, and per client address) counted without a
//! lock and in fixed memory.
//!
//! Each kind of connection (NS/SB on one side, HTTP on the other, each with caps of its own) has
//! a total and `ADMISSION_BUCKETS` per-address counters, all atomic. An address is counted in
//! the bucket its keyed hash picks (SipHash with a key drawn at random when the process starts,
//! std's `RandomState`, so nobody outside can pick addresses that land in a given bucket). A
//! socket is admitted by raising the total and then its bucket, each only if it is below its cap
//! (compare-and-swap, so a cap is never passed, however many threads accept at once), and counted
//! out by lowering both when its `Admission` drops. The tables are 16 KiB each whatever the
//! number of addresses, and a flood of new addresses (an IPv6 /64 has 2^64 of them) cannot grow
//! them, where a map keyed by address would grow with every one.
//!
//! The trade-off: addresses whose hashes meet share a bucket, so they share one per-address cap.
//! With n distinct addresses connected and m = 4,096 buckets, an address shares its bucket with
//! at least one other with probability 1 - (1 - 1/m)^(n-1): for n = 1,000 that is
//! 1 - e^(-999/4096) = 22%, about 122 pairs. Sharing only matters when the addresses together
//! reach the cap (256 NS/SB, 32 HTTP sockets): a Messenger client holds one NS socket, one per
//! conversation and an HTTP one now and then, so ordinary clients sharing a bucket never notice.
//! It matters when one address is near its cap (a large NAT, or a flood): then the addresses
//! in its bucket, on average (n-1)/m = 0.24 of them for n = 1,000, are refused along with it.
//! Which ones is decided by the random key, not by the flooder, and changes on every restart.
//! The cap in all is exact. Per address it is never looser than today, only sometimes tighter.
//!
//! IPv6: a client is keyed by its /64 (`address_key`), the block one subscriber or host is
//! usually given whole: a client cycling through the 2^64 addresses of its /64 gets one
//! per-address cap, not one per address. Every per-address limit (connections, gateway
//! sessions, login throttle, the log limiter) uses the same key.

use crate::limits::ADMISSION_BUCKETS;
use std::hash::BuildHasher;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

/// The key a client is counted under by every per-address limit: an IPv4 address as itself
/// (also when it arrives IPv4-mapped on an IPv6 socket), an IPv6 address by its /64, which a
/// single host or subscriber usually holds whole and can pick addresses from at will.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

/// Why a socket was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The cap on all connections of its kind.
    Total,
    /// The cap on connections of its kind from one address.
    PerAddress,
}

/// Which caps a connection counts against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Notification, switchboard and HTTPS sockets, and gateway sessions.
    Messenger,
    /// Plain HTTP sockets (Passport, nexus, the web page): apart, so that HTTP clients never
    /// take the room MSNP logins need.
    Http,
}

/// The counters of one kind of connection.
struct Table {
    total: AtomicUsize,
    buckets: Box<[AtomicU32]>,
}

impl Table {
    fn new() -> Table {
        Table {
            total: AtomicUsize::new(0),
            buckets: (0..ADMISSION_BUCKETS).map(|_| AtomicU32::new(0)).collect(),
        }
    }

    fn admit(&self, bucket: usize, max_total: usize, max_per_ip: usize) -> Result<(), Refused> {
        let total = self
            .total
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max_total).then(|| n + 1)
            });
        total.map_err(|_| Refused::Total)?;
        let per_ip = self.buckets[bucket].fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            ((n as usize) < max_per_ip)
                .then(|| n.checked_add(1))
                .flatten()
        });
        if per_ip.is_err() {
            self.total.fetch_sub(1, Ordering::AcqRel);
            return Err(Refused::PerAddress);
        }
        Ok(())
    }

    fn release(&self, bucket: Option<usize>) {
        if let Some(b) = bucket {
            self.buckets[b].fetch_sub(1, Ordering::AcqRel);
        }
        self.total.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The connection counters of both kinds.
pub struct Admissions {
    key: std::collections::hash_map::RandomState,
    messenger: Table,
    http: Table,
}

impl Default for Admissions {
    fn default() -> Admissions {
        Admissions {
            key: Default::default(),
            messenger: Table::new(),
            http: Table::new(),
        }
    }
}

/// A socket counted against the connection caps; counted out when dropped.
pub struct Admission {
    admissions: Arc<Admissions>,
    ip: IpAddr,
    /// `None`: counted in all only (`admit_in_all_only`).
    bucket: Option<u16>,
    kind: Kind,
}

impl Admission {
    /// The client address counted.
    pub fn ip(&self) -> IpAddr {
        self.ip
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.admissions
            .table(self.kind)
            .release(self.bucket.map(usize::from));
    }
}

impl Admissions {
    fn table(&self, kind: Kind) -> &Table {
        match kind {
            Kind::Messenger => &self.messenger,
            Kind::Http => &self.http,
        }
    }

    /// The bucket `ip` is counted in (by its `address_key`).
    fn bucket(&self, ip: IpAddr) -> usize {
        (self.key.hash_one(address_key(ip)) % ADMISSION_BUCKETS as u64) as usize
    }

    /// Counts a new `kind` socket from `ip`, or refuses it when `max_total` sockets of its kind
    /// are open, or `max_per_ip` in its address's bucket.
    pub fn admit(
        self: &Arc<Self>,
        ip: IpAddr,
        kind: Kind,
        max_total: usize,
        max_per_ip: usize,
    ) -> Result<Admission, Refused> {
        let bucket = self.bucket(ip);
        self.table(kind).admit(bucket, max_total, max_per_ip)?;
        Ok(Admission {
            admissions: self.clone(),
            ip,
            bucket: Some(bucket as u16),
            kind,
        })
    }

    /// Counts a `kind` socket against `max_total` only, under `ip`: for a socket this process
    /// opened on a client's behalf whose own socket already counts against its address
    /// (`bridged.rs`).
    pub fn admit_in_all_only(
        self: &Arc<Self>,
        ip: IpAddr,
        kind: Kind,
        max_total: usize,
    ) -> Result<Admission, Refused> {
        self.table(kind)
            .total
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max_total).then(|| n + 1)
            })
            .map_err(|_| Refused::Total)?;
        Ok(Admission {
            admissions: self.clone(),
            ip,
            bucket: None,
            kind,
        })
    }

    /// Sockets of `kind` open.
    pub fn open(&self, kind: Kind) -> usize {
        self.table(kind).total.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const _: () = assert!(ADMISSION_BUCKETS <= u16::MAX as usize + 1);

    fn v4(n: u32) -> IpAddr {
        IpAddr::from(n.to_be_bytes())
    }

    #[test]
    fn caps_per_address_and_in_all_and_counts_out_on_drop() {
        let a = Arc::new(Admissions::default());
        let one: Vec<_> = (0..3)
            .map(|_| a.admit(v4(1), Kind::Messenger, 10, 3).unwrap())
            .collect();
        assert_eq!(
            a.admit(v4(1), Kind::Messenger, 10, 3).err(),
            Some(Refused::PerAddress)
        );
        assert!(
            a.admit(v4(1), Kind::Http, 10, 3).is_ok(),
            "HTTP has caps of its own"
        );
        let mut others = Vec::new();
        let mut n = 2;
        while others.len() < 7 {
            if a.bucket(v4(n)) != a.bucket(v4(1)) {
                others.push(a.admit(v4(n), Kind::Messenger, 10, 3).unwrap());
            }
            n += 1;
        }
        assert_eq!(a.open(Kind::Messenger), 10);
        assert_eq!(
            a.admit(v4(n + 1000), Kind::Messenger, 10, 3).err(),
            Some(Refused::Total)
        );
        drop(one);
        assert_eq!(a.open(Kind::Messenger), 7);
        assert!(a.admit(v4(1), Kind::Messenger, 10, 3).is_ok());
        drop(others);
        assert_eq!(a.open(Kind::Messenger), 0);
        assert!(
            a.messenger
                .buckets
                .iter()
                .all(|b| b.load(Ordering::Relaxed) == 0)
        );
    }

    /// Issue 21, finding 6: the addresses of one IPv6 /64 share one per-address cap.
    #[test]
    fn an_ipv6_64_is_one_address() {
        let a = Arc::new(Admissions::default());
        let v6 = |i: u16| IpAddr::from([0x2001, 0xdb8, 0, 1, 0xabcd, 0, 0, i]);
        let _held: Vec<_> = (0..3)
            .map(|i| a.admit(v6(i), Kind::Messenger, 100, 3).unwrap())
            .collect();
        assert_eq!(
            a.admit(v6(99), Kind::Messenger, 100, 3).err(),
            Some(Refused::PerAddress)
        );
        assert_eq!(
            address_key("::ffff:10.0.0.1".parse().unwrap()),
            "10.0.0.1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn addresses_in_one_bucket_share_its_cap() {
        let a = Arc::new(Admissions::default());
        let first = v4(1);
        let twin = (2..)
            .map(v4)
            .find(|ip| a.bucket(*ip) == a.bucket(first))
            .unwrap();
        let held = a.admit(first, Kind::Http, 100, 2).unwrap();
        let _held = a.admit(twin, Kind::Http, 100, 2).unwrap();
        assert_eq!(
            a.admit(first, Kind::Http, 100, 2).err(),
            Some(Refused::PerAddress)
        );
        drop(held);
        assert!(a.admit(first, Kind::Http, 100, 2).is_ok());
    }

    /// Threads admitting and dropping at once never pass a cap and leave nothing counted.
    #[test]
    fn concurrent_admissions_never_pass_a_cap() {
        let a = Arc::new(Admissions::default());
        let peak = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let (a, peak) = (a.clone(), peak.clone());
                std::thread::spawn(move || {
                    let mut held = Vec::new();
                    for i in 0..20_000u32 {
                        if let Ok(adm) = a.admit(v4(i % 3), Kind::Messenger, 50, 20) {
                            held.push(adm);
                        }
                        peak.fetch_max(a.open(Kind::Messenger), Ordering::Relaxed);
                        if (i + t) % 3 == 0 {
                            held.pop();
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(peak.load(Ordering::Relaxed) <= 50);
        assert_eq!(a.open(Kind::Messenger), 0);
        assert!(
            a.messenger
                .buckets
                .iter()
                .all(|b| b.load(Ordering::Relaxed) == 0)
        );
    }
}
