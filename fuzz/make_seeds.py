#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/seeds/ from protocol transcripts (NS.md, SB-HTTP.md).

Payload lengths are computed, so every seed is a well-formed byte stream. Re-run after editing:
    python3 fuzz/make_seeds.py
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def cmd(line, payload=None):
    """One client command; a payload command gets its byte count appended."""
    if payload is None:
        return line.encode() + b"\r\n"
    p = payload.encode() if isinstance(payload, str) else payload
    return f"{line} {len(p)}\r\n".encode() + p


MSNOBJ = ('%3Cmsnobj%20Creator%3D%22alice%40example.com%22%20Size%3D%2221630%22%20Type%3D%223%22'
          '%20Location%3D%22TFR2C2.tmp%22%20Friendly%3D%22AAA%3D%22%20SHA1D%3D%22trC8SlFx2sWQxZMIB'
          'AWSEnXc8oQ%3D%22%20SHA1C%3D%22U32o6bosZzluJq82eAtMpx5dIEI%3D%22%2F%3E')
TEXT = ("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
        "X-MMS-IM-Format: FN=Arial; EF=; CO=0; CS=0; PF=22\r\n\r\nHello Bob \u2615")
TYPING = ("MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\n"
          "TypingUser: alice@example.com\r\n\r\n\r\n")
NUDGE = "MIME-Version: 1.0\r\nContent-Type: text/x-msnmsgr-datacast\r\n\r\nID: 1\r\n\r\n"
P2P = (b"MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\n"
       b"P2P-Dest: bob@example.com\r\n\r\n"
       + bytes([0, 0, 0, 0, 0x4d, 0x2b, 0x3f, 0x01]) + b"\x00" * 16 + bytes([0x10, 0x01, 0, 0])
       + b"\x00" * 20 + b"INVITE MSNMSGR:bob@example.com MSNSLP/1.0\r\n\r\n\x00" + b"\x00\x00\x00\x01")
INVITE = ("MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsinvite; charset=UTF-8\r\n\r\n"
          "Application-Name: File Transfer\r\nApplication-GUID: {5D3E02AB-6190-11d3-BBBB-00C04F795683}\r\n"
          "Invitation-Command: INVITE\r\nInvitation-Cookie: 12345\r\nApplication-File: a.txt\r\n"
          "Application-FileSize: 10\r\n\r\n")
PSM = "<Data><PSM>out to lunch &amp; back</PSM><CurrentMedia></CurrentMedia></Data>"

NS = {
    "login_md5_msnp7": [
        cmd("VER 1 MSNP7 MSNP6 MSNP5 MSNP4 CVR0"), cmd("INF 2"),
        cmd("CVR 3 0x0409 win 4.10 i386 MSMSGS 4.7.3001 MSMSGS alice@example.com"),
        cmd("USR 4 MD5 I alice@example.com"), cmd("USR 5 MD5 S 0f1c2bd9b5e6f6a4b4e8c0b1a2d3e4f5"),
        cmd("SYN 6 0"), cmd("CHG 7 NLN"), cmd("PNG"),
    ],
    "login_twn_msnp11": [
        cmd("VER 4 MSNP11 MSNP10 MSNP9 CVR0"),
        cmd("CVR 5 0x0409 winnt 5.1 i386 MSNMSGR 7.0.0777 MSMSGS example@hotmail.com"),
        cmd("USR 6 TWN I example@hotmail.com"), cmd("USR 7 TWN S t=AbCdEf0123456789&p=xyz"),
        cmd("SYN 8 0 0"), cmd("GCF 9 Shields.xml"), cmd(f"CHG 10 NLN 1073791084 {MSNOBJ}"),
        cmd("UUX 11", "<Data><PSM></PSM><CurrentMedia></CurrentMedia></Data>"),
    ],
    "login_twn_msnp8": [
        cmd("VER 1 MSNP8 CVR0"),
        cmd("CVR 2 0x0409 winnt 5.1 i386 MSNMSGR 6.0.0602 MSMSGS alice@example.com"),
        cmd("USR 3 TWN I alice@example.com"), cmd("USR 4 TWN S t=ticket&p=profile"),
        cmd("SYN 5 12"), cmd("CHG 6 NLN 268435492"),
    ],
    "lists_msnp7": [
        cmd("ADD 8 FL bob@example.com Bob%20Smith 0"), cmd("ADD 9 AL bob@example.com Bob"),
        cmd("REM 10 BL carol@example.com"), cmd("REM 11 FL bob@example.com 2"),
        cmd("ADG 12 Friends%20%26%20Family 0"), cmd("RMG 13 3"), cmd("REG 14 1 Work 0"),
        cmd("REA 15 alice@example.com Alice%20%E2%98%95"), cmd("BLP 16 BL"), cmd("GTC 17 N"),
        cmd("PRP 18 PHH 555%20123"), cmd("LST 19 RL"),
    ],
    "lists_msnp11": [
        cmd("ADC 12 FL N=bob@example.com F=Bob"),
        cmd("ADC 13 FL C=6bd7e1a3-86f8-4b43-a9f4-1b7a2a1a0c2d 8d1e0c2f-0000-4a4a-9d9d-0123456789ab"),
        cmd("ADC 14 AL N=bob@example.com"), cmd("ADC 15 RL N=carol@example.com"),
        cmd("REM 16 FL 6bd7e1a3-86f8-4b43-a9f4-1b7a2a1a0c2d"), cmd("REM 17 AL bob@example.com"),
        cmd("ADG 18 New%20Group"), cmd("SBP 19 6bd7e1a3-86f8-4b43-a9f4-1b7a2a1a0c2d MFN Bobby"),
    ],
    "presence": [
        cmd("CHG 20 BSY 1342554172"), cmd(f"CHG 21 AWY 1342554172 {MSNOBJ}"), cmd("CHG 22 HDN"),
        cmd("UUX 23", PSM), cmd("UUX 24", ""), cmd("PNG"), cmd("XFR 25 SB"), cmd("OUT"),
    ],
    "challenge": [
        cmd("QRY 30 msmsgs@msnmsgr.com", "0123456789abcdef0123456789abcdef"),
        cmd("QRY 31 PROD0090YUAUV{2B", "fedcba9876543210fedcba9876543210"), cmd("PNG"),
    ],
    "misc_ns": [
        cmd("SDC 40 bob@example.com 0x0409 MSMSGS WindowsMessenger X X Alice", "Hi, join me"),
        cmd("PAG 41 bob@example.com", "<TEXT xml:space=\"preserve\" enc=\"utf-8\">hi</TEXT>"),
        cmd("URL 42 INBOX"), cmd("FND 43 fname=Bob lname=* city=* state=* country=US"), cmd(""),
        cmd("   "), b"\n",
    ],
}

SB = {
    "caller_msnp8": [
        cmd("USR 3 alice@example.com 1234567.890123.4567"), cmd("CAL 4 bob@example.com"),
        cmd("MSG 5 U", TYPING), cmd("MSG 6 A", TEXT), cmd("MSG 7 N", NUDGE), cmd("OUT"),
    ],
    "invitee_msnp12": [
        cmd("ANS 1 bob@example.com 987654.3210.12345 11752013"), cmd("MSG 2 S", INVITE),
        cmd("MSG 3 D", P2P), cmd("CAL 4 carol@example.com"), cmd("OUT"),
    ],
    "msg_text_only": [cmd("MSG 9 A", TEXT)],
    "msg_p2p_only": [cmd("MSG 10 D", P2P)],
}

HTTP = {
    "nexus": b"GET /rdr/pprdr.asp HTTP/1.1\r\nHost: nexus.passport.com\r\nCache-Control: no-cache\r\n\r\n",
    "login2_official": (
        b"GET /login2.srf HTTP/1.1\r\nAuthorization: Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2F"
        b"messenger%2Emsn%2Ecom,sign-in=alice%40example.com,pwd=p%40ss%2Cword,ct=1,rver=1,"
        b"wp=FS_40SEC_0_COMPACT,lc=1,id=1\r\nUser-Agent: MSMSGS\r\nHost: login.passport.com\r\n"
        b"Connection: Keep-Alive\r\nCache-Control: no-cache\r\n\r\n"),
    "login2_sdk": (
        b"GET /login2.srf HTTP/1.1\r\nauthorization: Passport1.4 OrgVerb=GET,OrgURL=x,"
        b"sign-in=bob@example.com,pwd=a,b=c,ct=1,rver=1\r\nhost: 127.0.0.1:8080\r\n\r\n"),
    "msgrconfig": b"GET /Config/MsgrConfig.asmx?op=GetClientConfig HTTP/1.1\r\nHost: config.messenger.msn.com\r\n\r\n",
    "unknown_404": b"GET /favicon.ico HTTP/1.0\r\n\r\n",
}
RST_BODY = (
    '<?xml version="1.0" encoding="UTF-8"?><Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:wsse="http://schemas.xmlsoap.org/ws/2003/06/secext" xmlns:ps="http://schemas.microsoft.com/Passport/SoapServices/PPCRL">'
    '<Header><ps:AuthInfo Id="PPAuthInfo"><ps:HostingApp>{7108E71A-9926-4FCB-BCC9-9A9D3F32E423}</ps:HostingApp>'
    '<ps:BinaryVersion>4</ps:BinaryVersion></ps:AuthInfo><wsse:Security><wsse:UsernameToken Id="user">'
    '<wsse:Username>alice@example.com</wsse:Username><wsse:Password>p&amp;ss&lt;1&gt;</wsse:Password>'
    '</wsse:UsernameToken></wsse:Security></Header><Body><ps:RequestMultipleSecurityTokens Id="RSTS">'
    '<wst:RequestSecurityToken Id="RST0"><wsp:AppliesTo><wsa:EndpointReference><wsa:Address>http://Passport.NET/tb'
    '</wsa:Address></wsa:EndpointReference></wsp:AppliesTo></wst:RequestSecurityToken>'
    '<wst:RequestSecurityToken Id="RST1"><wsp:AppliesTo><wsa:EndpointReference><wsa:Address>messenger.msn.com'
    '</wsa:Address></wsa:EndpointReference></wsp:AppliesTo><wsse:PolicyReference '
    'URI="?ct=1&amp;rver=1&amp;wp=FS_40SEC_0_COMPACT&amp;lc=1&amp;id=1"></wsse:PolicyReference>'
    '</wst:RequestSecurityToken></ps:RequestMultipleSecurityTokens></Body></Envelope>').encode()


def post(path, body, extra=b""):
    return (f"POST {path} HTTP/1.1\r\nContent-Type: text/xml; charset=utf-8\r\n".encode() + extra
            + f"Host: login.live.com\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)


HTTP["rst"] = post("/RST.srf", RST_BODY)
HTTP["rst_ppsecure"] = post("/ppsecure/RST.srf", RST_BODY, b"SOAPAction: \"\"\r\n")
HTTP["keepalive_nexus_login"] = HTTP["nexus"] + HTTP["login2_official"]
HTTP["keepalive_rst_config"] = HTTP["rst"] + post("/Config/MsgrConfig.asmx", b"<soap/>") \
    + b"GET /rdr/pprdr.asp HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def write(target, name, data):
    d = os.path.join(HERE, "seeds", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


for name, parts in {**NS, **SB}.items():
    write("msnp_frame", name, b"".join(parts))
for name, data in HTTP.items():
    write("http_request", name, data)
