//! Typed values of the header extensions WebRTC uses, each parsed from and written to the
//! bytes of one element. The URI of each is in [`ExtensionKind`]; read and write them through
//! an [`ExtensionMap`](super::ExtensionMap).

use std::time::Duration;

use super::{ExtensionError, ExtensionKind};

/// A header extension with a typed value.
///
/// `'a` is the lifetime of the element bytes a value may borrow (the string extensions do).
pub trait Extension<'a>: Sized {
    /// Which extension this is (and so its URI).
    const KIND: ExtensionKind;

    /// Parses the value from an element's bytes.
    fn parse(value: &'a [u8]) -> Result<Self, ExtensionError>;

    /// The length of the value in bytes.
    fn value_len(&self) -> usize;

    /// Writes the value into `out`, exactly [`value_len`](Self::value_len) bytes.
    fn write_value(&self, out: &mut [u8]);
}

fn wrong_length(kind: ExtensionKind, len: usize, expected: &'static str) -> ExtensionError {
    ExtensionError::WrongLength { uri: kind.uri(), len, expected }
}

fn invalid(kind: ExtensionKind, reason: &'static str) -> ExtensionError {
    ExtensionError::InvalidValue { uri: kind.uri(), reason }
}

fn exact<const N: usize>(kind: ExtensionKind, value: &[u8], expected: &'static str) -> Result<[u8; N], ExtensionError> {
    value.try_into().map_err(|_| wrong_length(kind, value.len(), expected))
}

/// Checks an SDES identifier (RFC 7941) and returns it: 1..=255 bytes of UTF-8. A received
/// value is cut at its first NUL byte, which some senders append.
fn sdes_text(kind: ExtensionKind, value: &[u8]) -> Result<&str, ExtensionError> {
    let value = value.iter().position(|&b| b == 0).map_or(value, |nul| &value[..nul]);
    if value.is_empty() {
        return Err(invalid(kind, "empty identifier"));
    }
    if value.len() > 255 {
        return Err(invalid(kind, "identifier longer than 255 bytes"));
    }
    std::str::from_utf8(value).map_err(|_| invalid(kind, "identifier is not UTF-8"))
}

macro_rules! sdes_extension {
    ($(#[$doc:meta])* $name:ident, $kind:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $name<'a>(&'a str);

        impl<'a> $name<'a> {
            /// Checks the identifier: 1..=255 bytes, no NUL.
            pub fn new(id: &'a str) -> Result<Self, ExtensionError> {
                if id.as_bytes().contains(&0) {
                    return Err(invalid(ExtensionKind::$kind, "identifier contains a NUL byte"));
                }
                sdes_text(ExtensionKind::$kind, id.as_bytes()).map(Self)
            }

            /// The identifier.
            pub fn as_str(&self) -> &'a str {
                self.0
            }
        }

        impl<'a> Extension<'a> for $name<'a> {
            const KIND: ExtensionKind = ExtensionKind::$kind;

            fn parse(value: &'a [u8]) -> Result<Self, ExtensionError> {
                sdes_text(Self::KIND, value).map(Self)
            }

            fn value_len(&self) -> usize {
                self.0.len()
            }

            fn write_value(&self, out: &mut [u8]) {
                out.copy_from_slice(self.0.as_bytes());
            }
        }
    };
}

sdes_extension!(
    /// `urn:ietf:params:rtp-hdrext:sdes:mid` (RFC 8843): the media id of the m-line the
    /// packet belongs to, used to route packets of a BUNDLE group.
    Mid,
    Mid
);

sdes_extension!(
    /// `urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id` (RFC 8852): the `rid` of a
    /// simulcast or layered encoding.
    RtpStreamId,
    RtpStreamId
);

sdes_extension!(
    /// `urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id` (RFC 8852): on a
    /// repair stream (RTX, FEC), the `rid` of the stream it repairs.
    RepairedRtpStreamId,
    RepairedRtpStreamId
);

/// `abs-send-time`: when the packet left the sender, in seconds as 6.18 fixed point (24 bits,
/// wrapping every 64 s), for receive-side bandwidth estimation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AbsSendTime(pub u32);

impl AbsSendTime {
    /// The 24 bits that wrap: 64 seconds of 2^-18 s ticks.
    pub const MASK: u32 = 0x00FF_FFFF;

    /// From a 64-bit NTP timestamp (32.32 fixed point seconds): its middle 24 bits.
    pub fn from_ntp(ntp: u64) -> Self {
        Self((ntp >> 14) as u32 & Self::MASK)
    }

    /// From a time since any epoch (only the time modulo 64 s is kept), rounded down to a
    /// tick of 2^-18 s (about 3.8 µs).
    pub fn from_duration(time: Duration) -> Self {
        Self(((time.as_nanos() << 18) / 1_000_000_000) as u32 & Self::MASK)
    }

    /// The time within the 64-second cycle.
    pub fn to_duration(self) -> Duration {
        let ticks = (self.0 & Self::MASK) as u64;
        Duration::from_nanos((ticks * 1_000_000_000) >> 18)
    }
}

impl Extension<'_> for AbsSendTime {
    const KIND: ExtensionKind = ExtensionKind::AbsSendTime;

    fn parse(value: &[u8]) -> Result<Self, ExtensionError> {
        let [a, b, c] = exact(Self::KIND, value, "3")?;
        Ok(Self(u32::from_be_bytes([0, a, b, c])))
    }

    fn value_len(&self) -> usize {
        3
    }

    fn write_value(&self, out: &mut [u8]) {
        out.copy_from_slice(&self.0.to_be_bytes()[1..]);
    }
}

/// Transport-wide congestion control (draft-holmer-rmcat-transport-wide-cc-extensions-01):
/// a sequence number counting every packet of the transport, fed back in RTCP
/// transport-cc reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TransportCc(pub u16);

impl Extension<'_> for TransportCc {
    const KIND: ExtensionKind = ExtensionKind::TransportCc;

    fn parse(value: &[u8]) -> Result<Self, ExtensionError> {
        exact(Self::KIND, value, "2").map(|b| Self(u16::from_be_bytes(b)))
    }

    fn value_len(&self) -> usize {
        2
    }

    fn write_value(&self, out: &mut [u8]) {
        out.copy_from_slice(&self.0.to_be_bytes());
    }
}

/// `ssrc-audio-level` (RFC 6464): the level of the audio in the packet, 0..=127 meaning
/// 0 to -127 dBov (127 for digital silence), and whether the sender thinks it is voice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AudioLevel {
    voice: bool,
    level: u8,
}

impl AudioLevel {
    /// The level of digital silence (-127 dBov).
    pub const SILENCE: u8 = 127;

    /// `level` is in -dBov: 0 (loudest) to 127 (silence).
    pub fn new(voice: bool, level: u8) -> Result<Self, ExtensionError> {
        if level > Self::SILENCE {
            return Err(invalid(Self::KIND, "audio level above 127 -dBov"));
        }
        Ok(Self { voice, level })
    }

    /// The V bit: the sender's voice activity detection says this is speech.
    pub fn voice_activity(self) -> bool {
        self.voice
    }

    /// The level in -dBov, 0..=127.
    pub fn level(self) -> u8 {
        self.level
    }

    /// The level in dBov, -127..=0.
    pub fn dbov(self) -> i8 {
        -(self.level as i8)
    }
}

impl Extension<'_> for AudioLevel {
    const KIND: ExtensionKind = ExtensionKind::AudioLevel;

    fn parse(value: &[u8]) -> Result<Self, ExtensionError> {
        let [b] = exact(Self::KIND, value, "1")?;
        Ok(Self { voice: b & 0x80 != 0, level: b & 0x7F })
    }

    fn value_len(&self) -> usize {
        1
    }

    fn write_value(&self, out: &mut [u8]) {
        out[0] = (self.voice as u8) << 7 | self.level;
    }
}

/// `toffset` (RFC 5450): how much later than its RTP timestamp the packet was sent, in
/// RTP timestamp units, as a 24-bit signed number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimeOffset(i32);

impl TimeOffset {
    /// The smallest offset, -2^23.
    pub const MIN: i32 = -(1 << 23);
    /// The largest offset, 2^23 - 1.
    pub const MAX: i32 = (1 << 23) - 1;

    /// `offset` must fit 24 bits signed ([`MIN`](Self::MIN)..=[`MAX`](Self::MAX)).
    pub fn new(offset: i32) -> Result<Self, ExtensionError> {
        if !(Self::MIN..=Self::MAX).contains(&offset) {
            return Err(invalid(Self::KIND, "transmission offset does not fit 24 bits signed"));
        }
        Ok(Self(offset))
    }

    /// The offset in RTP timestamp units.
    pub fn get(self) -> i32 {
        self.0
    }
}

impl Extension<'_> for TimeOffset {
    const KIND: ExtensionKind = ExtensionKind::TimeOffset;

    fn parse(value: &[u8]) -> Result<Self, ExtensionError> {
        let [a, b, c] = exact(Self::KIND, value, "3")?;
        // Put the 24 bits at the top of an i32 and shift back down to sign-extend them.
        Ok(Self(i32::from_be_bytes([a, b, c, 0]) >> 8))
    }

    fn value_len(&self) -> usize {
        3
    }

    fn write_value(&self, out: &mut [u8]) {
        out.copy_from_slice(&self.0.to_be_bytes()[1..]);
    }
}

/// How far a video frame is rotated, counter-clockwise (3GPP TS 26.114).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Rotation {
    /// Not rotated.
    #[default]
    Deg0,
    /// 90 degrees.
    Deg90,
    /// 180 degrees.
    Deg180,
    /// 270 degrees.
    Deg270,
}

impl Rotation {
    /// The angle in degrees.
    pub fn degrees(self) -> u16 {
        match self {
            Rotation::Deg0 => 0,
            Rotation::Deg90 => 90,
            Rotation::Deg180 => 180,
            Rotation::Deg270 => 270,
        }
    }
}

/// `urn:3gpp:video-orientation` (CVO, 3GPP TS 26.114): which camera took the frame,
/// whether it is mirrored and how it is rotated; sent at least with the last packet of a
/// key frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct VideoOrientation {
    /// C: the back-facing camera (else the front-facing one or unknown).
    pub back_camera: bool,
    /// F: flipped horizontally.
    pub flip: bool,
    /// R1 R0: the rotation.
    pub rotation: Rotation,
}

impl Extension<'_> for VideoOrientation {
    const KIND: ExtensionKind = ExtensionKind::VideoOrientation;

    /// The upper four bits (zero in this extension; the granularity bits of
    /// `urn:3gpp:video-orientation:6`) are ignored.
    fn parse(value: &[u8]) -> Result<Self, ExtensionError> {
        let [b] = exact(Self::KIND, value, "1")?;
        let rotation = match b & 0b11 {
            0 => Rotation::Deg0,
            1 => Rotation::Deg90,
            2 => Rotation::Deg180,
            _ => Rotation::Deg270,
        };
        Ok(Self { back_camera: b & 0b1000 != 0, flip: b & 0b100 != 0, rotation })
    }

    fn value_len(&self) -> usize {
        1
    }

    fn write_value(&self, out: &mut [u8]) {
        out[0] = (self.back_camera as u8) << 3 | (self.flip as u8) << 2 | (self.rotation.degrees() / 90) as u8;
    }
}

/// `playout-delay`: the range of playout delay the sender asks the receiver's jitter
/// buffer to keep, as two 12-bit counts of 10 ms (so up to 40.95 s), minimum first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PlayoutDelay {
    min: u16,
    max: u16,
}

impl PlayoutDelay {
    /// The largest count of 10 ms units, 4095.
    pub const MAX_UNITS: u16 = 0x0FFF;

    /// `min` and `max` count 10 ms units: at most [`MAX_UNITS`](Self::MAX_UNITS), and
    /// `min <= max`.
    pub fn new(min: u16, max: u16) -> Result<Self, ExtensionError> {
        if min > Self::MAX_UNITS || max > Self::MAX_UNITS {
            return Err(invalid(Self::KIND, "playout delay above 4095 units of 10 ms"));
        }
        if min > max {
            return Err(invalid(Self::KIND, "minimum playout delay above the maximum"));
        }
        Ok(Self { min, max })
    }

    /// The minimum delay in units of 10 ms.
    pub fn min_units(self) -> u16 {
        self.min
    }

    /// The maximum delay in units of 10 ms.
    pub fn max_units(self) -> u16 {
        self.max
    }

    /// The minimum delay.
    pub fn min(self) -> Duration {
        Duration::from_millis(self.min as u64 * 10)
    }

    /// The maximum delay.
    pub fn max(self) -> Duration {
        Duration::from_millis(self.max as u64 * 10)
    }
}

impl Extension<'_> for PlayoutDelay {
    const KIND: ExtensionKind = ExtensionKind::PlayoutDelay;

    fn parse(value: &[u8]) -> Result<Self, ExtensionError> {
        let [a, b, c] = exact(Self::KIND, value, "3")?;
        let min = (a as u16) << 4 | (b as u16) >> 4;
        let max = ((b & 0x0F) as u16) << 8 | c as u16;
        Self::new(min, max)
    }

    fn value_len(&self) -> usize {
        3
    }

    fn write_value(&self, out: &mut [u8]) {
        out[0] = (self.min >> 4) as u8;
        out[1] = ((self.min & 0x0F) as u8) << 4 | (self.max >> 8) as u8;
        out[2] = self.max as u8;
    }
}

/// `abs-capture-time`: when the frame was captured, on the capturer's NTP clock, and
/// optionally the estimated offset from that clock to the sender's (both 32.32 fixed point
/// seconds), so a receiver can align audio and video from several senders.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AbsCaptureTime {
    /// The capture time, a 64-bit NTP timestamp (32.32 unsigned fixed point seconds).
    pub capture_ntp: u64,
    /// The capture clock's estimated offset to the sender's clock (32.32 signed fixed point
    /// seconds), if the sender sends it.
    pub clock_offset: Option<i64>,
}

impl Extension<'_> for AbsCaptureTime {
    const KIND: ExtensionKind = ExtensionKind::AbsCaptureTime;

    fn parse(value: &[u8]) -> Result<Self, ExtensionError> {
        let word = |i: usize| u64::from_be_bytes(value[i..i + 8].try_into().expect("8 bytes"));
        match value.len() {
            8 => Ok(Self { capture_ntp: word(0), clock_offset: None }),
            16 => Ok(Self { capture_ntp: word(0), clock_offset: Some(word(8) as i64) }),
            len => Err(wrong_length(Self::KIND, len, "8 or 16")),
        }
    }

    fn value_len(&self) -> usize {
        if self.clock_offset.is_some() {
            16
        } else {
            8
        }
    }

    fn write_value(&self, out: &mut [u8]) {
        out[..8].copy_from_slice(&self.capture_ntp.to_be_bytes());
        if let Some(offset) = self.clock_offset {
            out[8..16].copy_from_slice(&offset.to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes<'a, T: Extension<'a>>(value: &T) -> Vec<u8> {
        let mut out = vec![0xEE; value.value_len()];
        value.write_value(&mut out);
        out
    }

    fn wrong_len<'a, T: Extension<'a> + std::fmt::Debug>(value: &'a [u8]) -> ExtensionError {
        T::parse(value).unwrap_err()
    }

    #[test]
    fn sdes_identifiers() {
        let mid = Mid::parse(b"audio0").unwrap();
        assert_eq!(mid.as_str(), "audio0");
        assert_eq!(bytes(&mid), b"audio0");
        assert_eq!(RtpStreamId::parse(b"hi").unwrap().as_str(), "hi");
        assert_eq!(RepairedRtpStreamId::parse(b"lo").unwrap(), RepairedRtpStreamId::new("lo").unwrap());
        // A trailing NUL (some senders add one) is cut off.
        assert_eq!(Mid::parse(b"1\0\0").unwrap().as_str(), "1");
        let empty = Mid::parse(b"").unwrap_err();
        assert_eq!(
            empty,
            ExtensionError::InvalidValue { uri: "urn:ietf:params:rtp-hdrext:sdes:mid", reason: "empty identifier" }
        );
        assert!(matches!(Mid::parse(b"\0x"), Err(ExtensionError::InvalidValue { reason: "empty identifier", .. })));
        assert!(matches!(
            RtpStreamId::parse(&[0xFF, 0xFE]),
            Err(ExtensionError::InvalidValue { reason: "identifier is not UTF-8", .. })
        ));
        assert!(matches!(Mid::new(""), Err(ExtensionError::InvalidValue { .. })));
        assert!(matches!(
            Mid::new("a\0b"),
            Err(ExtensionError::InvalidValue { reason: "identifier contains a NUL byte", .. })
        ));
        let long = "x".repeat(256);
        assert!(matches!(
            RtpStreamId::new(&long),
            Err(ExtensionError::InvalidValue { reason: "identifier longer than 255 bytes", .. })
        ));
        assert_eq!(Mid::new(&long[..255]).unwrap().value_len(), 255);
    }

    #[test]
    fn abs_send_time() {
        let t = AbsSendTime::parse(&[0x12, 0x34, 0x56]).unwrap();
        assert_eq!(t, AbsSendTime(0x123456));
        assert_eq!(bytes(&t), [0x12, 0x34, 0x56]);
        assert_eq!(bytes(&AbsSendTime(0xFF_ABCDEF)), [0xAB, 0xCD, 0xEF], "only 24 bits are sent");
        // 6.18 fixed point: 1.5 s is 1 << 18 | 1 << 17.
        assert_eq!(AbsSendTime::from_duration(Duration::from_millis(1500)), AbsSendTime(0x06_0000));
        assert_eq!(AbsSendTime(0x06_0000).to_duration(), Duration::from_millis(1500));
        // It wraps every 64 s.
        assert_eq!(AbsSendTime::from_duration(Duration::from_millis(65_500)), AbsSendTime(0x06_0000));
        // NTP 32.32: the low 6 bits of the seconds and the top 18 bits of the fraction.
        assert_eq!(AbsSendTime::from_ntp(0x0000_0041_8000_0000), AbsSendTime(0x06_0000));
        let tick = AbsSendTime(1).to_duration();
        assert_eq!(tick, Duration::from_nanos(3814));
        assert_eq!(
            wrong_len::<AbsSendTime>(&[1, 2]),
            ExtensionError::WrongLength { uri: ExtensionKind::AbsSendTime.uri(), len: 2, expected: "3" }
        );
        assert!(matches!(AbsSendTime::parse(&[1, 2, 3, 4]), Err(ExtensionError::WrongLength { len: 4, .. })));
    }

    #[test]
    fn transport_cc() {
        assert_eq!(TransportCc::parse(&[0xAB, 0xCD]).unwrap(), TransportCc(0xABCD));
        assert_eq!(bytes(&TransportCc(0x0102)), [1, 2]);
        assert!(matches!(TransportCc::parse(&[1]), Err(ExtensionError::WrongLength { len: 1, expected: "2", .. })));
        assert!(matches!(TransportCc::parse(&[1, 2, 3]), Err(ExtensionError::WrongLength { len: 3, .. })));
    }

    /// RFC 6464 §3: the V bit, then the level in -dBov; 0 is the loudest, 127 silence.
    #[test]
    fn audio_level_rfc6464() {
        let loud_voice = AudioLevel::parse(&[0x80]).unwrap();
        assert!(loud_voice.voice_activity());
        assert_eq!((loud_voice.level(), loud_voice.dbov()), (0, 0));
        let silence = AudioLevel::parse(&[0x7F]).unwrap();
        assert!(!silence.voice_activity());
        assert_eq!((silence.level(), silence.dbov()), (AudioLevel::SILENCE, -127));
        let speech = AudioLevel::parse(&[0x80 | 30]).unwrap();
        assert_eq!((speech.voice_activity(), speech.dbov()), (true, -30));
        for b in 0..=255u8 {
            assert_eq!(bytes(&AudioLevel::parse(&[b]).unwrap()), [b]);
        }
        assert_eq!(bytes(&AudioLevel::new(true, 127).unwrap()), [0xFF]);
        assert_eq!(bytes(&AudioLevel::new(false, 42).unwrap()), [42]);
        assert!(matches!(AudioLevel::new(false, 128), Err(ExtensionError::InvalidValue { .. })));
        assert!(matches!(AudioLevel::parse(&[]), Err(ExtensionError::WrongLength { len: 0, .. })));
        assert!(matches!(AudioLevel::parse(&[1, 0]), Err(ExtensionError::WrongLength { len: 2, .. })));
    }

    #[test]
    fn time_offset_is_24_bit_signed() {
        assert_eq!(TimeOffset::parse(&[0, 0, 5]).unwrap().get(), 5);
        assert_eq!(TimeOffset::parse(&[0xFF, 0xFF, 0xFF]).unwrap().get(), -1);
        assert_eq!(TimeOffset::parse(&[0x80, 0, 0]).unwrap().get(), TimeOffset::MIN);
        assert_eq!(TimeOffset::parse(&[0x7F, 0xFF, 0xFF]).unwrap().get(), TimeOffset::MAX);
        for v in [TimeOffset::MIN, -90_000, -1, 0, 1, 3000, TimeOffset::MAX] {
            let t = TimeOffset::new(v).unwrap();
            assert_eq!(TimeOffset::parse(&bytes(&t)).unwrap(), t);
        }
        assert_eq!(bytes(&TimeOffset::new(-2).unwrap()), [0xFF, 0xFF, 0xFE]);
        assert!(matches!(TimeOffset::new(TimeOffset::MAX + 1), Err(ExtensionError::InvalidValue { .. })));
        assert!(matches!(TimeOffset::new(TimeOffset::MIN - 1), Err(ExtensionError::InvalidValue { .. })));
        assert!(matches!(TimeOffset::parse(&[0; 4]), Err(ExtensionError::WrongLength { len: 4, .. })));
    }

    #[test]
    fn video_orientation_bits() {
        let none = VideoOrientation::parse(&[0]).unwrap();
        assert_eq!(none, VideoOrientation::default());
        let all = VideoOrientation::parse(&[0b1111]).unwrap();
        assert_eq!(all, VideoOrientation { back_camera: true, flip: true, rotation: Rotation::Deg270 });
        assert!(VideoOrientation::parse(&[0b1000]).unwrap().back_camera);
        assert!(VideoOrientation::parse(&[0b0100]).unwrap().flip);
        let rotations: Vec<u16> = (0..4u8).map(|r| VideoOrientation::parse(&[r]).unwrap().rotation.degrees()).collect();
        assert_eq!(rotations, [0, 90, 180, 270]);
        assert_eq!(VideoOrientation::parse(&[0xF1]).unwrap().rotation, Rotation::Deg90, "upper bits ignored");
        for b in 0..16u8 {
            assert_eq!(bytes(&VideoOrientation::parse(&[b]).unwrap()), [b]);
        }
        assert!(matches!(VideoOrientation::parse(&[0, 0]), Err(ExtensionError::WrongLength { len: 2, .. })));
    }

    #[test]
    fn playout_delay_12_bit_fields() {
        let d = PlayoutDelay::parse(&[0x00, 0x10, 0x0A]).unwrap();
        assert_eq!((d.min_units(), d.max_units()), (1, 10));
        assert_eq!((d.min(), d.max()), (Duration::from_millis(10), Duration::from_millis(100)));
        assert_eq!(bytes(&d), [0x00, 0x10, 0x0A]);
        let wide = PlayoutDelay::new(0xABC, 0xFFF).unwrap();
        assert_eq!(bytes(&wide), [0xAB, 0xCF, 0xFF]);
        assert_eq!(PlayoutDelay::parse(&bytes(&wide)).unwrap(), wide);
        assert_eq!(wide.max(), Duration::from_millis(40_950));
        assert_eq!(bytes(&PlayoutDelay::new(0, 0).unwrap()), [0, 0, 0]);
        assert!(matches!(
            PlayoutDelay::parse(&[0x00, 0x20, 0x01]),
            Err(ExtensionError::InvalidValue { reason: "minimum playout delay above the maximum", .. })
        ));
        assert!(matches!(PlayoutDelay::new(0, 0x1000), Err(ExtensionError::InvalidValue { .. })));
        assert!(matches!(PlayoutDelay::new(5, 4), Err(ExtensionError::InvalidValue { .. })));
        assert!(matches!(PlayoutDelay::parse(&[0, 0]), Err(ExtensionError::WrongLength { len: 2, .. })));
    }

    #[test]
    fn abs_capture_time_with_and_without_offset() {
        let short = [1, 2, 3, 4, 5, 6, 7, 8];
        let t = AbsCaptureTime::parse(&short).unwrap();
        assert_eq!(t, AbsCaptureTime { capture_ntp: 0x0102_0304_0506_0708, clock_offset: None });
        assert_eq!(bytes(&t), short);
        let long = [0, 0, 0, 9, 0x80, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x80, 0, 0, 0];
        let t = AbsCaptureTime::parse(&long).unwrap();
        assert_eq!(t.capture_ntp, 0x0000_0009_8000_0000); // 9.5 s
        assert_eq!(t.clock_offset, Some(-(1 << 31))); // -0.5 s
        assert_eq!(bytes(&t), long);
        for len in [0, 7, 9, 15, 17] {
            assert!(matches!(
                AbsCaptureTime::parse(&vec![0; len]),
                Err(ExtensionError::WrongLength { expected: "8 or 16", .. })
            ));
        }
    }
}
