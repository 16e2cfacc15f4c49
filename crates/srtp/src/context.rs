//! [`SrtpContext`]: the SRTP and SRTCP state of one direction.

use std::collections::HashMap;

use crate::cipher::Transform;
use crate::header::{rtcp_sender_ssrc, RtpHeader};
use crate::kdf::SessionKeys;
use crate::replay::ReplayWindow;
use crate::{Profile, SrtpError};

/// Options of an [`SrtpContext`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Size of the replay window in packets, per SSRC (clamped to
    /// 64..=32768, rounded up to a multiple of 64). Default 64; raise it on
    /// links that reorder more than 64 packets, e.g. high-rate video.
    pub replay_window: usize,
    /// Allow [`SrtpContext::protect_rtp`] to protect a sequence number it has
    /// protected before (a NACK retransmission on the same SSRC). Only safe
    /// when the packet is byte-for-byte the same: another payload under the
    /// same index reuses the keystream. Receivers always reject replays.
    /// Default `false`, as in libsrtp.
    pub allow_repeat_tx: bool,
    /// Most SSRCs tracked; packets of further SSRCs fail with
    /// [`SrtpError::UnknownSsrcLimit`]. Default 256.
    pub max_ssrcs: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config { replay_window: 64, allow_repeat_tx: false, max_ssrcs: 256 }
    }
}

/// The state of one SSRC.
#[derive(Debug, Clone)]
struct Stream {
    /// Rollover counter and highest sequence number (RFC 3711 3.3.1), as
    /// one 48-bit index; `None` before the first RTP packet.
    rtp_highest: Option<u64>,
    rtp_window: ReplayWindow,
    /// Next SRTCP index to send.
    rtcp_next: u32,
    rtcp_window: ReplayWindow,
}

impl Stream {
    fn new(config: &Config) -> Self {
        Stream {
            rtp_highest: None,
            rtp_window: ReplayWindow::new(config.replay_window),
            rtcp_next: 0,
            rtcp_window: ReplayWindow::new(config.replay_window),
        }
    }
}

/// Estimates the 48-bit packet index of sequence number `seq` given the
/// highest index so far (RFC 3711 Appendix A). Fails with
/// [`SrtpError::TooOld`] when the guess lies before index 0 and with
/// [`SrtpError::IndexExhausted`] past the 48-bit index space.
pub fn estimate_index(highest: Option<u64>, seq: u16) -> Result<u64, SrtpError> {
    let Some(highest) = highest else { return Ok(u64::from(seq)) };
    let roc = (highest >> 16) as i64;
    let s_l = (highest & 0xffff) as i64;
    let seq = i64::from(seq);
    let v = if s_l < 32768 {
        if seq - s_l > 32768 {
            roc - 1
        } else {
            roc
        }
    } else if s_l - 32768 > seq {
        roc + 1
    } else {
        roc
    };
    if v < 0 {
        return Err(SrtpError::TooOld);
    }
    if v > i64::from(u32::MAX) {
        return Err(SrtpError::IndexExhausted);
    }
    Ok(((v as u64) << 16) | seq as u64)
}

/// SRTP and SRTCP for one direction of one DTLS-SRTP association: the
/// session keys, and per SSRC the rollover counter, the SRTCP index and the
/// replay windows.
///
/// Use one context to protect what you send and another, keyed with the
/// peer's keys, to unprotect what you receive.
pub struct SrtpContext {
    profile: Profile,
    config: Config,
    rtp: Transform,
    rtcp: Transform,
    streams: HashMap<u32, Stream>,
}

impl std::fmt::Debug for SrtpContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrtpContext")
            .field("profile", &self.profile)
            .field("config", &self.config)
            .field("ssrcs", &self.streams.len())
            .finish_non_exhaustive()
    }
}

impl SrtpContext {
    /// Builds a context from a master key and salt (the keying material
    /// DTLS-SRTP exports for one side) and derives the session keys.
    pub fn new(profile: Profile, master_key: &[u8], master_salt: &[u8], config: Config) -> Result<Self, SrtpError> {
        if master_key.len() != profile.master_key_len() {
            return Err(SrtpError::BadKeyLength {
                what: "key",
                expected: profile.master_key_len(),
                got: master_key.len(),
            });
        }
        if master_salt.len() != profile.master_salt_len() {
            return Err(SrtpError::BadKeyLength {
                what: "salt",
                expected: profile.master_salt_len(),
                got: master_salt.len(),
            });
        }
        let rtp = Transform::new(profile, &SessionKeys::derive(profile, master_key, master_salt, false)?, false)?;
        let rtcp = Transform::new(profile, &SessionKeys::derive(profile, master_key, master_salt, true)?, true)?;
        Ok(SrtpContext { profile, config, rtp, rtcp, streams: HashMap::new() })
    }

    /// Builds a context straight from session keys (no key derivation), as
    /// the RFC 7714 vectors are given.
    #[cfg(test)]
    pub(crate) fn from_session_keys(profile: Profile, key: &[u8], salt: &[u8]) -> Self {
        let mut keys = SessionKeys { enc: [0; 32], salt: [0; 14], auth: [0; 20] };
        keys.enc[..key.len()].copy_from_slice(key);
        keys.salt[..salt.len()].copy_from_slice(salt);
        let rtp = Transform::new(profile, &keys, false).unwrap();
        let rtcp = Transform::new(profile, &keys, true).unwrap();
        SrtpContext { profile, config: Config::default(), rtp, rtcp, streams: HashMap::new() }
    }

    /// Sets the next SRTCP index to send for `ssrc` (tests only).
    #[cfg(test)]
    pub(crate) fn set_rtcp_index(&mut self, ssrc: u32, index: u32) {
        self.stream_mut(ssrc).rtcp_next = index;
    }

    /// The protection profile.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The rollover counter of `ssrc`, if an RTP packet of it was handled.
    pub fn roc(&self, ssrc: u32) -> Option<u32> {
        self.streams.get(&ssrc)?.rtp_highest.map(|i| (i >> 16) as u32)
    }

    /// Number of SSRCs tracked.
    pub fn ssrc_count(&self) -> usize {
        self.streams.len()
    }

    /// Forgets an SSRC (its stream ended, e.g. an RTCP BYE).
    pub fn remove_ssrc(&mut self, ssrc: u32) {
        self.streams.remove(&ssrc);
    }

    fn stream_or_new(&self, ssrc: u32) -> Result<Option<&Stream>, SrtpError> {
        match self.streams.get(&ssrc) {
            Some(s) => Ok(Some(s)),
            None if self.streams.len() >= self.config.max_ssrcs => {
                Err(SrtpError::UnknownSsrcLimit(self.config.max_ssrcs))
            }
            None => Ok(None),
        }
    }

    fn stream_mut(&mut self, ssrc: u32) -> &mut Stream {
        let config = &self.config;
        self.streams.entry(ssrc).or_insert_with(|| Stream::new(config))
    }

    /// Protects an RTP packet into an SRTP packet written to `out` (cleared
    /// first). The header is left in clear, the payload encrypted and the
    /// tag appended.
    ///
    /// Fails with [`SrtpError::Replayed`] or [`SrtpError::TooOld`] when the
    /// sequence number was already protected (see
    /// [`Config::allow_repeat_tx`]) or lies behind the replay window.
    pub fn protect_rtp(&mut self, packet: &[u8], out: &mut Vec<u8>) -> Result<(), SrtpError> {
        let header = RtpHeader::parse(packet)?;
        let stream = self.stream_or_new(header.ssrc)?;
        let highest = stream.and_then(|s| s.rtp_highest);
        let index = estimate_index(highest, header.sequence)?;
        if let Some(s) = stream {
            match s.rtp_window.check(index) {
                Err(SrtpError::Replayed) if self.config.allow_repeat_tx => {}
                other => other?,
            }
        }
        self.rtp.protect_rtp(packet, header.len, header.ssrc, index, out);
        let s = self.stream_mut(header.ssrc);
        s.rtp_window.accept(index);
        s.rtp_highest = Some(highest.map_or(index, |h| h.max(index)));
        Ok(())
    }

    /// Authenticates and decrypts an SRTP packet into the RTP packet written
    /// to `out`. State (rollover counter, replay window) changes only when
    /// the packet authenticates; any error means: drop the packet.
    pub fn unprotect_rtp(&mut self, packet: &[u8], out: &mut Vec<u8>) -> Result<(), SrtpError> {
        let header = RtpHeader::parse(packet)?;
        let stream = self.stream_or_new(header.ssrc)?;
        let highest = stream.and_then(|s| s.rtp_highest);
        let index = estimate_index(highest, header.sequence)?;
        if let Some(s) = stream {
            s.rtp_window.check(index)?;
        }
        self.rtp.unprotect_rtp(packet, header.len, header.ssrc, index, out)?;
        let s = self.stream_mut(header.ssrc);
        s.rtp_window.accept(index);
        s.rtp_highest = Some(highest.map_or(index, |h| h.max(index)));
        Ok(())
    }

    /// Protects a (compound) RTCP packet into an SRTCP packet written to
    /// `out`: everything after the first 8 bytes is encrypted, then the E
    /// flag with the 31-bit SRTCP index and the tag are added.
    pub fn protect_rtcp(&mut self, packet: &[u8], out: &mut Vec<u8>) -> Result<(), SrtpError> {
        let ssrc = rtcp_sender_ssrc(packet)?;
        let index = self.stream_or_new(ssrc)?.map_or(0, |s| s.rtcp_next);
        if index > 0x7fff_ffff {
            return Err(SrtpError::IndexExhausted);
        }
        self.rtcp.protect_rtcp(packet, ssrc, index, out);
        self.stream_mut(ssrc).rtcp_next = index + 1;
        Ok(())
    }

    /// Authenticates and decrypts an SRTCP packet into the RTCP packet
    /// written to `out`. Unencrypted SRTCP (E flag clear) is accepted
    /// when it authenticates.
    pub fn unprotect_rtcp(&mut self, packet: &[u8], out: &mut Vec<u8>) -> Result<(), SrtpError> {
        let ssrc = rtcp_sender_ssrc(packet)?;
        let (_, index) = self.rtcp.rtcp_trailer(packet)?;
        if let Some(s) = self.stream_or_new(ssrc)? {
            s.rtcp_window.check(u64::from(index))?;
        }
        self.rtcp.unprotect_rtcp(packet, ssrc, out)?;
        self.stream_mut(ssrc).rtcp_window.accept(u64::from(index));
        Ok(())
    }
}
