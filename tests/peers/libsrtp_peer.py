"""libsrtp peer for crates/srtp/tests/libsrtp.rs.

Reads lines `OP PROFILE_ID KEY_HEX PACKET_HEX` from stdin, where OP is one of
protect_rtp, unprotect_rtp, protect_rtcp, unprotect_rtcp and KEY_HEX is the
master key followed by the master salt. Keeps one libsrtp session per
(direction, profile, key), so rollover counters and replay windows carry over
between lines. Writes one line per input line: the resulting packet in hex,
or `ERR <reason>`.
"""

import sys

from pylibsrtp import Error, Policy, Session

PROFILES = {
    0x0001: Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
    0x0002: Policy.SRTP_PROFILE_AES128_CM_SHA1_32,
    0x0007: Policy.SRTP_PROFILE_AEAD_AES_128_GCM,
    0x0008: Policy.SRTP_PROFILE_AEAD_AES_256_GCM,
}

sessions = {}


def session(outbound, profile, key):
    k = (outbound, profile, key)
    if k not in sessions:
        policy = Policy(
            key=bytes.fromhex(key),
            ssrc_type=Policy.SSRC_ANY_OUTBOUND if outbound else Policy.SSRC_ANY_INBOUND,
            srtp_profile=PROFILES[profile],
        )
        sessions[k] = Session(policy=policy)
    return sessions[k]


for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    op, profile, key, packet = line.split()
    s = session(op.startswith("protect"), int(profile, 0), key)
    try:
        out = getattr(s, op.replace("_rtp", ""))(bytes.fromhex(packet))
        print(out.hex(), flush=True)
    except Error as e:
        print("ERR", str(e).replace("\n", " "), flush=True)
