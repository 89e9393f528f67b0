#!/usr/bin/env python3
"""Memory of idle XMPP sessions (issue 20, item 6: <= 4 KiB each; docs/xmpp.md "Memory").

Against a running server: opens WARM sessions, waits, reads the server's VmRSS, opens SESSIONS
more, waits, reads it again, and prints the growth per session. Every session does what a phone
does before it goes quiet: STARTTLS (TLS 1.3 where the server offers it), SASL SCRAM-SHA-1,
resource binding and an available presence, which signs the account's MSN side in (its bridge,
docs/xmpp.md "With the MSN side"). The server's housekeeping tick (2 s) returns freed memory, so
each reading waits longer than that.

    bench/xmpp-idle.py --server 127.0.0.1:5222 --ca CA.pem --server-pid PID [--sessions 200]
                       [--warm 20] [--first 1] [--prefix user] [--domain example.com]
                       [--password password] [--settle 3]

Accounts PREFIX<FIRST>@DOMAIN ... (bench/run.sh's user1..userN@example.com). Ends with one line
`RESULT scenario=xmpp-idle sessions=N opened=N rss_before_kib=.. rss_after_kib=.. kib_per_session=..`
as msnpd-load's scenarios do. Measures, does not assert.
"""
import argparse, base64, hashlib, hmac, os, socket, ssl, sys, time

STREAM = ("<?xml version='1.0'?><stream:stream to='{d}' xmlns='jabber:client' "
          "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")


def until(s, end):
    b = b""
    while end not in b:
        d = s.recv(65536)
        if not d:
            raise RuntimeError("closed by the server: %r" % b[-200:])
        b += d
    return b


def session(a, ctx, i):
    """One bound, available session for account number i; returns its TLS socket."""
    host, port = a.server.rsplit(":", 1)
    head = STREAM.format(d=a.domain).encode()
    t = socket.create_connection((host, int(port)), timeout=30)
    t.sendall(head)
    until(t, b"</stream:features>")
    t.sendall(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    until(t, b"<proceed")
    s = ctx.wrap_socket(t, server_hostname=a.domain)
    s.sendall(head)
    until(s, b"</stream:features>")
    cnonce = base64.b64encode(os.urandom(12)).decode()
    bare = "n=%s%d,r=%s" % (a.prefix, i, cnonce)
    s.sendall(("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>%s</auth>"
               % base64.b64encode(("n,," + bare).encode()).decode()).encode())
    challenge = until(s, b"</challenge>").split(b">")[1].split(b"<")[0]
    first = base64.b64decode(challenge).decode()
    f = dict(x.split("=", 1) for x in first.split(","))
    salted = hashlib.pbkdf2_hmac("sha1", a.password.encode(), base64.b64decode(f["s"]), int(f["i"]))
    client_key = hmac.new(salted, b"Client Key", "sha1").digest()
    without_proof = "c=biws,r=" + f["r"]
    sig = hmac.new(hashlib.sha1(client_key).digest(),
                   (bare + "," + first + "," + without_proof).encode(), "sha1").digest()
    proof = base64.b64encode(bytes(x ^ y for x, y in zip(client_key, sig))).decode()
    s.sendall(("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>%s</response>"
               % base64.b64encode((without_proof + ",p=" + proof).encode()).decode()).encode())
    until(s, b"</success>")
    s.sendall(head)
    until(s, b"</stream:features>")
    s.sendall(b"<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>")
    until(s, b"</iq>")
    # Available presence: the bridge signs in to the MSN side (the settle time covers it).
    s.sendall(b"<presence/>")
    s.sendall(b"<iq type='get' id='p'><ping xmlns='urn:xmpp:ping'/></iq>")
    until(s, b"id='p'")
    return s


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--server", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--server-pid", type=int, required=True)
    p.add_argument("--sessions", type=int, default=200)
    p.add_argument("--warm", type=int, default=20)
    p.add_argument("--first", type=int, default=1)
    p.add_argument("--prefix", default="user")
    p.add_argument("--domain", default="example.com")
    p.add_argument("--password", default="password")
    p.add_argument("--settle", type=float, default=3.0)
    a = p.parse_args()
    ctx = ssl.create_default_context(cafile=a.ca)
    # The kit's certificate names the served domains; a client checks it against its JID's.
    keep = []
    try:
        for i in range(a.first, a.first + a.warm):
            keep.append(session(a, ctx, i))
        time.sleep(a.settle)
        before = rss_kib(a.server_pid)
        opened = 0
        for i in range(a.first + a.warm, a.first + a.warm + a.sessions):
            keep.append(session(a, ctx, i))
            opened += 1
        time.sleep(a.settle)
        after = rss_kib(a.server_pid)
    except Exception as e:  # a refused or dropped session: report, do not hide it
        print("RESULT scenario=xmpp-idle error=%s" % str(e).replace(" ", "_")[:120])
        return 1
    per = (after - before) / opened
    print("RESULT scenario=xmpp-idle sessions=%d opened=%d rss_before_kib=%d rss_after_kib=%d "
          "kib_per_session=%.2f" % (a.sessions, opened, before, after, per))
    for s in keep:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
