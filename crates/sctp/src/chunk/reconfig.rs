//! RE-CONFIG (RFC 6525 3.1) and its parameters (RFC 6525 4).
//!
//! A RE-CONFIG chunk carries one or two parameters; WebRTC uses the Outgoing SSN Reset
//! Request (13) to close data channels and the Re-configuration Response (16).

use bytes::BufMut;

use super::{be16, be32, pad_to4, params};
use crate::error::ParseError;

const OUTGOING_RESET: u16 = 13;
const INCOMING_RESET: u16 = 14;
const SSN_TSN_RESET: u16 = 15;
const RESPONSE: u16 = 16;
const ADD_OUTGOING: u16 = 17;
const ADD_INCOMING: u16 = 18;

/// Result codes of a Re-configuration Response (RFC 6525 4.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReconfigResult {
    /// 0: nothing to do.
    SuccessNothingToDo,
    /// 1: performed.
    SuccessPerformed,
    /// 2: denied.
    Denied,
    /// 3: wrong SSN.
    ErrorWrongSsn,
    /// 4: a request is already in progress.
    ErrorRequestAlreadyInProgress,
    /// 5: bad request sequence number.
    ErrorBadSequenceNumber,
    /// 6: in progress, retry later.
    InProgress,
    /// Any other value.
    Other(u32),
}

impl ReconfigResult {
    fn from_u32(v: u32) -> Self {
        use ReconfigResult::*;
        match v {
            0 => SuccessNothingToDo,
            1 => SuccessPerformed,
            2 => Denied,
            3 => ErrorWrongSsn,
            4 => ErrorRequestAlreadyInProgress,
            5 => ErrorBadSequenceNumber,
            6 => InProgress,
            v => Other(v),
        }
    }

    fn to_u32(self) -> u32 {
        use ReconfigResult::*;
        match self {
            SuccessNothingToDo => 0,
            SuccessPerformed => 1,
            Denied => 2,
            ErrorWrongSsn => 3,
            ErrorRequestAlreadyInProgress => 4,
            ErrorBadSequenceNumber => 5,
            InProgress => 6,
            Other(v) => v,
        }
    }
}

/// One RE-CONFIG parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReconfigParam {
    /// The sender resets its outgoing streams (the receiver's incoming ones).
    OutgoingReset {
        /// Request sequence number.
        req_seq: u32,
        /// The response sequence number this request also answers.
        resp_seq: u32,
        /// The sender's last TSN assigned before the reset.
        last_tsn: u32,
        /// Streams to reset; empty means all.
        streams: Vec<u16>,
    },
    /// The sender asks the receiver to reset the receiver's outgoing streams.
    IncomingReset {
        /// Request sequence number.
        req_seq: u32,
        /// Streams; empty means all.
        streams: Vec<u16>,
    },
    /// Reset of all streams and the TSN (unsupported: answered with Denied).
    SsnTsnReset {
        /// Request sequence number.
        req_seq: u32,
    },
    /// Add streams (unsupported: answered with Denied).
    AddStreams {
        /// Request sequence number.
        req_seq: u32,
        /// True for Add Incoming Streams.
        incoming: bool,
        /// Number of new streams.
        count: u16,
    },
    /// The answer to a request.
    Response {
        /// The request sequence number answered.
        resp_seq: u32,
        /// The outcome.
        result: ReconfigResult,
    },
}

/// A RE-CONFIG chunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReConfig {
    /// Its parameters, in order (at most two in valid chunks; more are rejected).
    pub params: Vec<ReconfigParam>,
}

fn stream_list(v: &[u8]) -> Vec<u16> {
    v.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect()
}

impl ReConfig {
    pub(crate) fn parse(v: &[u8]) -> Result<ReConfig, ParseError> {
        let mut out = Vec::new();
        for p in params(v) {
            let (t, r) = p?;
            let val = &v[r];
            let short = |need: usize| ParseError::Truncated { what: "RE-CONFIG parameter", need, have: val.len() };
            let p = match t {
                OUTGOING_RESET => {
                    if val.len() < 12 {
                        return Err(short(12));
                    }
                    ReconfigParam::OutgoingReset {
                        req_seq: be32(val, 0).unwrap_or_default(),
                        resp_seq: be32(val, 4).unwrap_or_default(),
                        last_tsn: be32(val, 8).unwrap_or_default(),
                        streams: stream_list(&val[12..]),
                    }
                }
                INCOMING_RESET => ReconfigParam::IncomingReset {
                    req_seq: be32(val, 0).ok_or(short(4))?,
                    streams: stream_list(val.get(4..).unwrap_or_default()),
                },
                SSN_TSN_RESET => ReconfigParam::SsnTsnReset { req_seq: be32(val, 0).ok_or(short(4))? },
                ADD_OUTGOING | ADD_INCOMING => ReconfigParam::AddStreams {
                    req_seq: be32(val, 0).ok_or(short(8))?,
                    incoming: t == ADD_INCOMING,
                    count: be16(val, 4).ok_or(short(8))?,
                },
                RESPONSE => ReconfigParam::Response {
                    resp_seq: be32(val, 0).ok_or(short(8))?,
                    result: ReconfigResult::from_u32(be32(val, 4).ok_or(short(8))?),
                },
                _ => return Err(ParseError::Invalid("RE-CONFIG parameter type")),
            };
            out.push(p);
            if out.len() > 2 {
                return Err(ParseError::Invalid("RE-CONFIG with more than two parameters"));
            }
        }
        if out.is_empty() {
            return Err(ParseError::Invalid("empty RE-CONFIG"));
        }
        Ok(ReConfig { params: out })
    }

    pub(crate) fn value_len(&self) -> usize {
        let mut v = Vec::new();
        self.write_value(&mut v);
        v.len()
    }

    pub(crate) fn write_value(&self, out: &mut Vec<u8>) {
        for p in &self.params {
            let start = out.len();
            out.put_u32(0); // type and length, filled in below
            let t = match p {
                ReconfigParam::OutgoingReset { req_seq, resp_seq, last_tsn, streams } => {
                    out.put_u32(*req_seq);
                    out.put_u32(*resp_seq);
                    out.put_u32(*last_tsn);
                    streams.iter().for_each(|s| out.put_u16(*s));
                    OUTGOING_RESET
                }
                ReconfigParam::IncomingReset { req_seq, streams } => {
                    out.put_u32(*req_seq);
                    streams.iter().for_each(|s| out.put_u16(*s));
                    INCOMING_RESET
                }
                ReconfigParam::SsnTsnReset { req_seq } => {
                    out.put_u32(*req_seq);
                    SSN_TSN_RESET
                }
                ReconfigParam::AddStreams { req_seq, incoming, count } => {
                    out.put_u32(*req_seq);
                    out.put_u16(*count);
                    out.put_u16(0);
                    if *incoming {
                        ADD_INCOMING
                    } else {
                        ADD_OUTGOING
                    }
                }
                ReconfigParam::Response { resp_seq, result } => {
                    out.put_u32(*resp_seq);
                    out.put_u32(result.to_u32());
                    RESPONSE
                }
            };
            let len = (out.len() - start) as u16;
            out[start..start + 2].copy_from_slice(&t.to_be_bytes());
            out[start + 2..start + 4].copy_from_slice(&len.to_be_bytes());
            pad_to4(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{round_trip, Chunk};
    use super::*;

    #[test]
    fn reconfig_round_trips() {
        for params in [
            vec![ReconfigParam::OutgoingReset { req_seq: 5, resp_seq: 4, last_tsn: 99, streams: vec![1, 3, 5] }],
            vec![
                ReconfigParam::Response { resp_seq: 7, result: ReconfigResult::SuccessPerformed },
                ReconfigParam::IncomingReset { req_seq: 8, streams: vec![2] },
            ],
            vec![ReconfigParam::SsnTsnReset { req_seq: 1 }],
            vec![ReconfigParam::AddStreams { req_seq: 1, incoming: true, count: 4 }],
        ] {
            let c = Chunk::ReConfig(ReConfig { params });
            assert_eq!(round_trip(&c), c);
        }
    }

    #[test]
    fn bad_reconfigs_are_rejected() {
        assert!(ReConfig::parse(&[]).is_err());
        assert!(ReConfig::parse(&[0, 13, 0, 8, 0, 0, 0, 1]).is_err(), "outgoing reset too short");
        assert!(ReConfig::parse(&[0, 99, 0, 4]).is_err(), "unknown parameter");
        assert!(ReConfig::parse(&[0, 16, 0, 8, 0, 0, 0, 1]).is_err(), "response without result");
    }
}
