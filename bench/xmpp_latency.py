#!/usr/bin/env python3
"""XMPP -> MSN message latency (issue 20, item 6; docs/xmpp.md "Figures").

Starts `msnpd serve` (the binary given, on loopback, a fresh database), signs in PAIRS XMPP users
(STARTTLS, PLAIN, bind, presence: each gets its MSN bridge) and PAIRS MSNP7 users, and has every
XMPP user send chat messages to its MSN partner at RATE messages per second in all, for SECONDS.
Each body carries its send time; the MSN side takes the arrival time of the switchboard MSG.
Prints p50/p99/max. Senders are spread over pairs because one XMPP session may send at most
XMPP_STANZAS_PER_SECOND (20) stanzas per second.

    bench/xmpp_latency.py target/release/msnpd [PAIRS=100] [RATE=1000] [SECONDS=10]

Not part of `make test`: it measures, it does not assert.
"""
import hashlib, os, socket, ssl, subprocess, sys, tempfile, threading, time, base64

BIN = sys.argv[1]
PAIRS = int(sys.argv[2]) if len(sys.argv) > 2 else 100
RATE = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
SECONDS = float(sys.argv[4]) if len(sys.argv) > 4 else 10
PW = "pw-bench"
DOMAIN = "example.com"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Lines:
    def __init__(self, sock):
        self.s, self.b = sock, b""

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
    for i in range(PAIRS):
        for who in ("x", "m"):
            subprocess.run([BIN, "user", "add", "--db", db, "--password", PW,
                            "%s%d@%s" % (who, i, DOMAIN)], check=True, capture_output=True)
    ns, sb, http, xmpp = free_port(), free_port(), free_port(), 5222
    srv = subprocess.Popen([BIN, "serve", "--db", db, "--listen", "127.0.0.1:%d" % ns,
                            "--sb-listen", "127.0.0.1:%d" % sb, "--http-listen", "127.0.0.1:%d" % http,
                            "--https-listen", "none", "--tls-dir", os.path.join(d, "tls"),
                            "--max-per-ip", "10000", "--log-level", "warn"])
    try:
        time.sleep(2)
        msn = [msn_login(ns, "m%d@%s" % (i, DOMAIN)) for i in range(PAIRS)]
        xs = [xmpp_login(xmpp, "x%d@%s" % (i, DOMAIN)) for i in range(PAIRS)]
        time.sleep(1)
        lat, lock = [], threading.Lock()
        first = [threading.Event() for _ in range(PAIRS)]

        def receive(i):
            c = msn[i]
            l = c.until("RNG ").__getitem__(0).split(" ")
            sbc = Lines(socket.create_connection(("127.0.0.1", int(l[2].split(":")[1]))))
            sbc.send("ANS 1 m%d@%s %s %s" % (i, DOMAIN, l[4], l[1]))
            sbc.until("ANS 1 OK")
            while True:
                _, p = sbc.until("MSG ")
                now = time.perf_counter_ns()
                body = p.split(b"\r\n\r\n", 1)[-1].decode()
                if body == "warm":
                    first[i].set()
                    continue
                if body == "end":
                    return
                with lock:
                    lat.append(now - int(body))

        rs = [threading.Thread(target=receive, args=(i,), daemon=True) for i in range(PAIRS)]
        for r in rs:
            r.start()
        for i, s in enumerate(xs):
            s.sendall(("<message to='m%d@%s' type='chat'><body>warm</body></message>" % (i, DOMAIN)).encode())
        for e in first:
            if not e.wait(20):
                raise SystemExit("a switchboard never opened")
        per = RATE / PAIRS

        def send(i):
            s, n, t0 = xs[i], int(per * SECONDS), time.perf_counter()
            for k in range(n):
                wait = t0 + k / per - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                s.sendall(("<message to='m%d@%s' type='chat'><body>%d</body></message>"
                           % (i, DOMAIN, time.perf_counter_ns())).encode())
            s.sendall(("<message to='m%d@%s' type='chat'><body>end</body></message>" % (i, DOMAIN)).encode())

        ss = [threading.Thread(target=send, args=(i,)) for i in range(PAIRS)]
        for t in ss:
            t.start()
        for t in ss:
            t.join()
        for r in rs:
            r.join(10)
        lat.sort()
        q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] / 1e6
        print("xmpp->msn: %d messages at %d/s over %d pairs: p50 %.2f ms, p99 %.2f ms, max %.2f ms"
              % (len(lat), RATE, PAIRS, q(0.5), q(0.99), lat[-1] / 1e6))
    finally:
        srv.terminate()
        srv.wait()


main()
