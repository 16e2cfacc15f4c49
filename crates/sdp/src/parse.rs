//! The line parser (RFC 8866 section 5), tolerant where browsers and other
//! stacks differ, strict where a value would be ambiguous.

use crate::error::excerpt;
use crate::session::OtherLine;
use crate::{
    Attribute, Bandwidth, Connection, MediaDescription, MediaKind, Origin, SdpError, SessionDescription, Timing,
    MAX_MEDIA, MAX_SDP_LEN,
};

fn invalid(line: usize, reason: &'static str, text: &str) -> SdpError {
    SdpError::InvalidLine { line, reason, excerpt: excerpt(text) }
}

/// Reads the `m=` line `value` (the text after `m=`).
fn media_line(n: usize, line: &str, value: &str) -> Result<MediaDescription, SdpError> {
    let mut tokens = value.split_whitespace();
    let (Some(kind), Some(port), Some(protocol)) = (tokens.next(), tokens.next(), tokens.next()) else {
        return Err(invalid(n, "an m= line needs <media> <port> <protocol> <formats>", line));
    };
    let (port, count) = match port.split_once('/') {
        Some((p, c)) => (p, Some(c)),
        None => (port, None),
    };
    let port = port.parse().map_err(|_| invalid(n, "the m= port is not a number in 0..=65535", line))?;
    let port_count = match count {
        Some(c) => Some(c.parse().map_err(|_| invalid(n, "the m= port count is not a number in 0..=65535", line))?),
        None => None,
    };
    let mut m = MediaDescription::new(MediaKind::from_token(kind), port, protocol, &[]);
    m.port_count = port_count;
    m.formats = tokens.map(str::to_string).collect();
    Ok(m)
}

#[derive(Default)]
struct Session {
    origin: Option<Origin>,
    name: Option<String>,
    connection: Option<Connection>,
    bandwidth: Vec<Bandwidth>,
    timing: Vec<Timing>,
    other: Vec<OtherLine>,
    attributes: Vec<Attribute>,
}

pub(crate) fn parse(text: &str) -> Result<SessionDescription, SdpError> {
    if text.len() > MAX_SDP_LEN {
        return Err(SdpError::TooLong { len: text.len(), max: MAX_SDP_LEN });
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // (1-based line number, line without its line ending and trailing whitespace), blank lines skipped.
    let mut lines =
        text.split('\n').map(str::trim_end).enumerate().map(|(i, l)| (i + 1, l)).filter(|(_, l)| !l.is_empty());
    let mut last_line;
    let version = match lines.next() {
        Some((n, line)) => {
            last_line = n;
            let v = line.strip_prefix("v=").ok_or(SdpError::Missing {
                line: n,
                expected: "v=0",
                reason: "an SDP description starts with its version line",
            })?;
            v.trim().parse::<u32>().map_err(|_| invalid(n, "v= is not a number (WebRTC uses v=0)", line))?
        }
        None => return Err(SdpError::Missing { line: 1, expected: "v=0", reason: "the SDP text is empty" }),
    };

    let mut s = Session::default();
    let mut media: Vec<MediaDescription> = Vec::new();
    for (n, line) in lines {
        last_line = n;
        let mut chars = line.chars();
        let kind = chars.next().unwrap_or(' ');
        if chars.next() != Some('=') {
            return Err(invalid(n, "not an SDP line of the form <letter>=<value>", line));
        }
        if !kind.is_ascii_alphabetic() {
            return Err(invalid(n, "an SDP line type is a single letter", line));
        }
        if line.contains('\r') {
            return Err(invalid(n, "a carriage return inside a line (lines end with CRLF or LF)", line));
        }
        let value = &line[2..];
        if kind == 'm' {
            if media.is_empty() {
                check_session_lines(&s, n)?;
            }
            if media.len() >= MAX_MEDIA {
                return Err(SdpError::TooManyMedia { line: n, max: MAX_MEDIA });
            }
            media.push(media_line(n, line, value)?);
            continue;
        }
        match media.last_mut() {
            Some(m) => match kind {
                'c' if m.connection.is_some() => return Err(invalid(n, "a second c= line in one media section", line)),
                'c' => m.connection = Some(value.parse().map_err(|_| invalid(n, C_EXPECTED, line))?),
                'b' => m.bandwidth.push(value.parse().map_err(|_| invalid(n, B_EXPECTED, line))?),
                'a' => m.attributes.push(Attribute::parse(value)),
                _ => m.other_lines.push(OtherLine { kind, value: value.to_string() }),
            },
            None => session_line(&mut s, n, line, kind, value)?,
        }
    }
    check_session_lines(&s, last_line + 1)?;
    let Session {
        origin: Some(origin),
        name: Some(session_name),
        connection,
        bandwidth,
        timing,
        mut other,
        attributes,
    } = s
    else {
        return Err(SdpError::Missing {
            line: last_line + 1,
            expected: "o= and s=",
            reason: "the session level needs both",
        });
    };
    other.sort_by_key(|l| OtherLine::session_rank(l.kind));
    for m in &mut media {
        m.other_lines.sort_by_key(|l| OtherLine::media_rank(l.kind));
    }
    Ok(SessionDescription {
        version,
        origin,
        session_name,
        connection,
        bandwidth,
        timing,
        other_lines: other,
        attributes,
        media,
    })
}

const C_EXPECTED: &str = "c= needs <nettype> <addrtype> <address>, e.g. \"IN IP4 0.0.0.0\"";
const B_EXPECTED: &str = "b= needs <bwtype>:<number>, e.g. \"AS:30\"";

fn check_session_lines(s: &Session, n: usize) -> Result<(), SdpError> {
    if s.origin.is_none() {
        return Err(SdpError::Missing { line: n, expected: "o=", reason: "the session level needs an origin line" });
    }
    if s.name.is_none() {
        return Err(SdpError::Missing {
            line: n,
            expected: "s=",
            reason: "the session level needs a session name line (s=-)",
        });
    }
    Ok(())
}

fn session_line(s: &mut Session, n: usize, line: &str, kind: char, value: &str) -> Result<(), SdpError> {
    match kind {
        'v' => return Err(invalid(n, "a second v= line", line)),
        'o' if s.origin.is_some() => return Err(invalid(n, "a second o= line", line)),
        'o' => {
            s.origin = Some(value.parse().map_err(|_| {
                invalid(
                    n,
                    "o= needs <username> <numeric session id> <numeric version> <nettype> <addrtype> <address>",
                    line,
                )
            })?)
        }
        's' if s.name.is_some() => return Err(invalid(n, "a second s= line", line)),
        's' => s.name = Some(value.to_string()),
        'c' if s.connection.is_some() => return Err(invalid(n, "a second session-level c= line", line)),
        'c' => s.connection = Some(value.parse().map_err(|_| invalid(n, C_EXPECTED, line))?),
        'b' => s.bandwidth.push(value.parse().map_err(|_| invalid(n, B_EXPECTED, line))?),
        't' => s
            .timing
            .push(value.parse().map_err(|_| invalid(n, "t= needs <start> <stop> as numbers, e.g. \"0 0\"", line))?),
        'r' => match s.timing.last_mut() {
            Some(t) => t.repeats.push(value.to_string()),
            None => return Err(invalid(n, "an r= line must follow a t= line", line)),
        },
        'a' => s.attributes.push(Attribute::parse(value)),
        _ => s.other.push(OtherLine { kind, value: value.to_string() }),
    }
    Ok(())
}
