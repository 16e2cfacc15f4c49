//! Cross-check against libsrtp (through pylibsrtp): what we protect libsrtp
//! unprotects, and what libsrtp protects we unprotect, for every profile,
//! across a sequence number wrap, with CSRCs and header extensions.
//!
//! Run with `OXRTC_PYTHON=/work/main/.venv/bin/python cargo test -p
//! oxrtc-srtp -- --include-ignored` (scripts/test.sh sets it up).

use std::io::Write;
use std::process::{Command, Stdio};

use srtp::{Config, Profile, SrtpContext};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// RTP packets of SSRC `ssrc` from sequence number 65520 through a wrap,
/// some with CSRCs and a header extension.
fn rtp_packets(ssrc: u32) -> Vec<Vec<u8>> {
    (0..40u16)
        .map(|i| {
            let seq = 65520u16.wrapping_add(i);
            let csrcs = (i % 3) as u8;
            let ext = i % 4 == 1;
            let mut p = vec![0x80 | if ext { 0x10 } else { 0 } | csrcs, 96 | if i == 0 { 0x80 } else { 0 }];
            p.extend_from_slice(&seq.to_be_bytes());
            p.extend_from_slice(&(u32::from(i) * 960).to_be_bytes());
            p.extend_from_slice(&ssrc.to_be_bytes());
            for c in 0..csrcs {
                p.extend_from_slice(&[c; 4]);
            }
            if ext {
                p.extend_from_slice(&[0xbe, 0xde, 0, 2, 0x12, 1, 2, 3, 0x20, 9, 0, 0]);
            }
            p.extend((0..(i as usize * 7 % 200)).map(|b| (b as u8).wrapping_mul(31).wrapping_add(i as u8)));
            p
        })
        .collect()
}

/// A sender report followed by an SDES chunk, as a compound packet.
fn rtcp_packets(ssrc: u32) -> Vec<Vec<u8>> {
    (0..5u32)
        .map(|i| {
            let mut p = vec![0x80, 200, 0, 6];
            p.extend_from_slice(&ssrc.to_be_bytes());
            p.extend_from_slice(&[i as u8; 20]);
            p.extend_from_slice(&[0x81, 202, 0, 2]);
            p.extend_from_slice(&ssrc.to_be_bytes());
            p.extend_from_slice(&[1, 2, b'a', b'b']);
            p
        })
        .collect()
}

#[test]
#[ignore = "needs pylibsrtp: run scripts/test.sh"]
fn interoperates_with_libsrtp() {
    let python = std::env::var("OXRTC_PYTHON").expect("set OXRTC_PYTHON to a python with pylibsrtp");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/peers/libsrtp_peer.py");

    // Lines for the peer, and what we expect back from each.
    enum Expect {
        Plain(Vec<u8>),
        OursUnprotects { profile: usize, rtcp: bool, plain: Vec<u8> },
    }
    let mut lines = String::new();
    let mut expect = Vec::new();
    let mut receivers = Vec::new();
    for (n, profile) in Profile::ALL.into_iter().enumerate() {
        let key: Vec<u8> =
            (0..profile.master_key_len() as u8).map(|b| b.wrapping_mul(13).wrapping_add(n as u8)).collect();
        let salt: Vec<u8> = (0..profile.master_salt_len() as u8).map(|b| b ^ 0xa5).collect();
        let keyhex = hex(&[key.clone(), salt.clone()].concat());
        let mut ours = SrtpContext::new(profile, &key, &salt, Config::default()).unwrap();
        receivers.push(SrtpContext::new(profile, &key, &salt, Config::default()).unwrap());
        let id = profile.id();
        let mut out = Vec::new();
        for p in rtp_packets(0x1234_5678) {
            ours.protect_rtp(&p, &mut out).unwrap();
            lines += &format!("unprotect_rtp {id} {keyhex} {}\n", hex(&out));
            expect.push(Expect::Plain(p.clone()));
            lines += &format!("protect_rtp {id} {keyhex} {}\n", hex(&p));
            expect.push(Expect::OursUnprotects { profile: n, rtcp: false, plain: p });
        }
        for p in rtcp_packets(0x1234_5678) {
            ours.protect_rtcp(&p, &mut out).unwrap();
            lines += &format!("unprotect_rtcp {id} {keyhex} {}\n", hex(&out));
            expect.push(Expect::Plain(p.clone()));
            lines += &format!("protect_rtcp {id} {keyhex} {}\n", hex(&p));
            expect.push(Expect::OursUnprotects { profile: n, rtcp: true, plain: p });
        }
    }

    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run the libsrtp peer");
    child.stdin.take().unwrap().write_all(lines.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "libsrtp peer failed");
    let answers: Vec<String> = String::from_utf8(output.stdout).unwrap().lines().map(str::to_owned).collect();
    assert_eq!(answers.len(), expect.len());

    let input: Vec<&str> = lines.lines().collect();
    let mut out = Vec::new();
    for ((answer, expect), line) in answers.iter().zip(expect).zip(input) {
        assert!(!answer.starts_with("ERR"), "libsrtp refused `{line}`: {answer}");
        let got = unhex(answer);
        match expect {
            Expect::Plain(plain) => assert_eq!(got, plain, "libsrtp unprotected `{line}` wrongly"),
            Expect::OursUnprotects { profile, rtcp, plain } => {
                let r = &mut receivers[profile];
                let res = if rtcp { r.unprotect_rtcp(&got, &mut out) } else { r.unprotect_rtp(&got, &mut out) };
                res.unwrap_or_else(|e| panic!("we could not unprotect libsrtp's answer to `{line}`: {e}"));
                assert_eq!(out, plain, "libsrtp's `{line}`");
            }
        }
    }
}
