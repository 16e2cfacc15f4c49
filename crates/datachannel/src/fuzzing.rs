//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the test that
//! replays their corpus. Not part of the stable API.

use crate::dcep::Message;

/// Parses `data` as a DCEP message; whatever parses re-encodes to bytes
/// that parse to the same message.
pub fn dcep_parse(data: &[u8]) {
    if let Ok(m) = Message::parse(data) {
        let wire = m.encode().expect("a parsed message encodes");
        assert_eq!(Message::parse(&wire), Ok(m), "DCEP round trip");
    }
}
