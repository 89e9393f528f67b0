#!/usr/bin/env python3
"""XMPP -> MSN message latency (issue 20, item 6: p99 <= 2 ms at 1,000 msg/s; docs/xmpp.md).

Starts `msnpd serve` (the binary given, on loopback, a fresh database, one executor thread,
pinned to CPU $XMPP_BENCH_SERVER_CPU when set, as bench/run.sh pins the server), signs in PAIRS
XMPP users (STARTTLS, PLAIN, bind, presence: each gets its MSN bridge) and PAIRS MSNP7 users, opens
one conversation per pair, then sends chat messages from the XMPP users to their MSN partners at
RATE messages per second in all, for SECONDS. Each message is timed from the XMPP client's write
(its body carries the time) to the MSNP7 client's read of the switchboard MSG.

One thread sends on a fixed schedule (message k at t0 + k/RATE, to pair k mod PAIRS; one XMPP
session may send at most 20 stanzas per second, so RATE/PAIRS must stay under that) and one thread
reads every switchboard socket through a selector, so the Python side adds no thread switches of
its own to what is measured.

    bench/xmpp_latency.py target/release/msnpd [PAIRS=100] [RATE=1000] [SECONDS=10]

Prints a sentence and `RESULT messages=N lost=N p50_us=N p99_us=N max_us=N` for bench/run.sh.
Not part of `make test`: it measures, it does not assert.
"""
import base64, hashlib, os, selectors, shutil, socket, ssl, subprocess, sys, tempfile, threading, time

BIN = sys.argv[1]
PAIRS = int(sys.argv[2]) if len(sys.argv) > 2 else 100
RATE = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
SECONDS = float(sys.argv[4]) if len(sys.argv) > 4 else 10
SERVER_CPU = os.environ.get("XMPP_BENCH_SERVER_CPU")
PW = "pw-bench"
DOMAIN = "example.com"
sys.setswitchinterval(0.0005)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Lines:
    def __init__(self, sock):
        self.s, self.b = sock, b""
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, line, payload=b""):
        self.s.sendall(line.encode() + b"\r\n" + payload)

    def line(self):
        while b"\r\n" not in self.b:
            d = self.s.recv(65536)
            if not d:
                raise SystemExit("MSN connection closed")
            self.b += d
        l, self.b = self.b.split(b"\r\n", 1)
        return l.decode()

    def payload(self, n):
        while len(self.b) < n:
            self.b += self.s.recv(65536)
        p, self.b = self.b[:n], self.b[n:]
        return p

    def until(self, prefix):
        while True:
            l = self.line()
            parts = l.split(" ")
            if parts[0] in ("MSG", "UBX", "NOT") and parts[-1].isdigit():
                p = self.payload(int(parts[-1]))
            else:
                p = b""
            if l.startswith(prefix):
                return l, p

    def complete(self):
        """The MSG payloads complete in the buffer (non-blocking reading)."""
        out = []
        while True:
            i = self.b.find(b"\r\n")
            if i < 0:
                return out
            parts = self.b[:i].split(b" ")
            n = int(parts[-1]) if parts[0] == b"MSG" else 0
            if len(self.b) < i + 2 + n:
                return out
            out.append(self.b[i + 2:i + 2 + n])
            self.b = self.b[i + 2 + n:]


def msn_login(ns_port, handle):
    port = ns_port
    while True:
        c = Lines(socket.create_connection(("127.0.0.1", port)))
        c.send("VER 1 MSNP7 CVR0"); c.until("VER 1")
        c.send("INF 2"); c.until("INF 2")
        c.send("USR 3 MD5 I " + handle)
        l = c.line()
        if l.startswith("XFR"):
            port = int(l.split(" ")[3].split(":")[1])
            continue
        ch = l.split(" ")[-1]
        c.send("USR 4 MD5 S " + hashlib.md5((ch + PW).encode()).hexdigest())
        c.until("USR 4 OK")
        c.send("SYN 5 0"); c.until("SYN 5")
        c.send("CHG 6 NLN"); c.until("CHG 6")
        return c


H = ("<?xml version='1.0'?><stream:stream to='%s' xmlns='jabber:client' "
     "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>" % DOMAIN).encode()
CTX = ssl.create_default_context()
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE


def until(s, end):
    b = b""
    while end not in b:
        d = s.recv(65536)
        if not d:
            raise SystemExit("XMPP closed: %r" % b)
        b += d
    return b


def xmpp_login(port, user):
    t = socket.create_connection(("127.0.0.1", port))
    t.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t.sendall(H); until(t, b"</stream:features>")
    t.sendall(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"); until(t, b"<proceed")
    s = CTX.wrap_socket(t, server_hostname="localhost")
    s.sendall(H); until(s, b"</stream:features>")
    a = base64.b64encode(("\0%s\0%s" % (user, PW)).encode()).decode()
    s.sendall(("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>" % a).encode())
    until(s, b"success")
    s.sendall(H); until(s, b"</stream:features>")
    s.sendall(b"<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>")
    until(s, b"</iq>")
    s.sendall(b"<presence/>")
    return s


def main():
    d = tempfile.mkdtemp()
    db = os.path.join(d, "msnpd.db")
    users = os.path.join(d, "users.txt")
    with open(users, "w") as f:
        for i in range(PAIRS):
            f.write("x%d@%s %s\nm%d@%s %s\n" % (i, DOMAIN, PW, i, DOMAIN, PW))
    subprocess.run([BIN, "user", "import", "--db", db, users], check=True, capture_output=True)
    ns, sb, http, xmpp = free_port(), free_port(), free_port(), free_port()
    pin = ["taskset", "-c", SERVER_CPU] if SERVER_CPU else []
    srv = subprocess.Popen(pin + [BIN, "serve", "--db", db, "--listen", "127.0.0.1:%d" % ns,
                                  "--sb-listen", "127.0.0.1:%d" % sb, "--http-listen", "127.0.0.1:%d" % http,
                                  "--https-listen", "none", "--xmpp-listen", "127.0.0.1:%d" % xmpp,
                                  "--tls-dir", os.path.join(d, "tls"), "--threads", "1",
                                  "--max-per-ip", "100000", "--log-level", "warn"],
                           stderr=open(os.path.join(d, "server.log"), "w"))
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", xmpp)).close()
                break
            except OSError:
                time.sleep(0.1)
        msn = [msn_login(ns, "m%d@%s" % (i, DOMAIN)) for i in range(PAIRS)]
        xs = [xmpp_login(xmpp, "x%d@%s" % (i, DOMAIN)) for i in range(PAIRS)]
        time.sleep(1)
        # One conversation per pair: the first message rings the MSN user, who answers.
        for i, s in enumerate(xs):
            s.sendall(("<message to='m%d@%s' type='chat'><body>warm</body></message>" % (i, DOMAIN)).encode())
        sbs = []
        for i, c in enumerate(msn):
            l = c.until("RNG ")[0].split(" ")
            sbc = Lines(socket.create_connection(("127.0.0.1", int(l[2].split(":")[1]))))
            sbc.send("ANS 1 m%d@%s %s %s" % (i, DOMAIN, l[4], l[1]))
            sbc.until("ANS 1 OK")
            _, p = sbc.until("MSG ")
            assert p.endswith(b"warm"), p
            sbs.append(sbc)
        time.sleep(0.5)

        total = int(RATE * SECONDS)
        lat = []
        done = threading.Event()

        def receive():
            sel = selectors.DefaultSelector()
            for c in sbs:
                c.s.setblocking(False)
                sel.register(c.s, selectors.EVENT_READ, c)
            while len(lat) < total and not done.is_set():
                for key, _ in sel.select(0.5):
                    c = key.data
                    try:
                        d = c.s.recv(65536)
                    except BlockingIOError:
                        continue
                    now = time.perf_counter_ns()
                    if not d:
                        raise SystemExit("switchboard closed")
                    c.b += d
                    for p in c.complete():
                        lat.append(now - int(p.split(b"\r\n\r\n", 1)[-1]))

        r = threading.Thread(target=receive, daemon=True)
        r.start()
        t0 = time.perf_counter()
        for k in range(total):
            wait = t0 + k / RATE - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            i = k % PAIRS
            xs[i].sendall(("<message to='m%d@%s' type='chat'><body>%d</body></message>"
                           % (i, DOMAIN, time.perf_counter_ns())).encode())
        r.join(10)
        done.set()
        lat.sort()
        if not lat:
            raise SystemExit("no message arrived")
        q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] // 1000
        print("xmpp->msn: %d of %d messages at %d/s over %d pairs: p50 %.2f ms, p99 %.2f ms, max %.2f ms"
              % (len(lat), total, RATE, PAIRS, q(0.5) / 1e3, q(0.99) / 1e3, lat[-1] / 1e6))
        print("RESULT messages=%d lost=%d p50_us=%d p99_us=%d max_us=%d"
              % (len(lat), total - len(lat), q(0.5), q(0.99), lat[-1] // 1000))
    finally:
        srv.terminate()
        srv.wait()
        shutil.rmtree(d, ignore_errors=True)


main()
