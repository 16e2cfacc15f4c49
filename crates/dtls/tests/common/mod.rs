//! Helpers shared by the DTLS tests.
#![allow(dead_code)]

use dtls::{DtlsError, DtlsEvent};

/// Questions a test asks of a transport's event log.
pub trait EventLog {
    /// Every event the transport reported, in order.
    fn events(&self) -> &[DtlsEvent];

    fn connected(&self) -> bool {
        self.events().iter().any(|e| matches!(e, DtlsEvent::Connected { .. }))
    }
    fn failed(&self) -> Option<&DtlsError> {
        self.events().iter().find_map(|e| match e {
            DtlsEvent::Failed(err) => Some(err),
            _ => None,
        })
    }
    fn closed(&self) -> bool {
        self.events().contains(&DtlsEvent::Closed)
    }
    fn data(&self) -> Vec<Vec<u8>> {
        self.events()
            .iter()
            .filter_map(|e| match e {
                DtlsEvent::Data(d) => Some(d.clone()),
                _ => None,
            })
            .collect()
    }
    fn srtp(&self) -> Option<dtls::SrtpKeys> {
        self.events().iter().find_map(|e| match e {
            DtlsEvent::Connected { srtp, .. } => srtp.clone(),
            _ => None,
        })
    }
}
