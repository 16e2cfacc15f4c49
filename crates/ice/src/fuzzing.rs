//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the test that
//! replays their corpus. Not part of the stable API.

use crate::mdns;

/// Reads `data` as an mDNS response a host on the link could send: for a
/// fixed name, and for the name of its first question or record so the
/// matching path is reached too. Then, when `data` is text, builds a query
/// and an answer for it as a name and checks they read back.
pub fn mdns_parse(data: &[u8]) {
    let _ = mdns::answer_for(data, "1f0e2b3c-4d5e-6f70-8192-a3b4c5d6e7f8.local");
    if let Some((name, _)) = mdns::read_name(data, 12) {
        let _ = mdns::answer_for(data, &name);
    }
    let Ok(name) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(q) = mdns::query(name, 0) {
        assert_eq!(mdns::answer_for(&q, name), None, "a query is no answer");
        let lower = name.trim_end_matches('.').to_ascii_lowercase();
        assert_eq!(mdns::read_name(&q, 12).map(|(n, _)| n), Some(lower), "the query names {name:?}");
        let ip = std::net::IpAddr::from([192, 0, 2, 1]);
        let a = mdns::answer(name, ip).expect("a name a query takes, an answer takes");
        assert_eq!(mdns::answer_for(&a, name), Some(ip), "our own answer reads back");
    }
}
