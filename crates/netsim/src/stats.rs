//! Counters of what the network did with the datagrams it was handed.

/// What happened to datagrams, counted since [`Network::new`](crate::Network::new).
///
/// Every datagram handed to [`Network::send`](crate::Network::send), plus every extra copy
/// made by duplication, ends up in exactly one outcome counter or is still in flight:
/// `sent + duplicated == delivered + lost + lost_burst + dropped_queue + dropped_unroutable
/// + dropped_nat_filter + dropped_host_down + in_flight` (see [`NetStats::accounted`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Datagrams handed to `send`.
    pub sent: u64,
    /// Datagrams returned by `poll_delivery` (duplicates included).
    pub delivered: u64,
    /// Lost by independent random loss (`LinkConfig::loss`).
    pub lost: u64,
    /// Lost in a Gilbert-Elliott bad state (`LinkConfig::burst`).
    pub lost_burst: u64,
    /// Dropped at the tail of a full link queue, or because the network's in-flight byte
    /// limit was reached.
    pub dropped_queue: u64,
    /// Unknown source, unknown destination, or a private address addressed from outside
    /// its NAT.
    pub dropped_unroutable: u64,
    /// Refused by a NAT: no live mapping for the public port, or filtering said no.
    pub dropped_nat_filter: u64,
    /// Sent by, or addressed to, a host that is down.
    pub dropped_host_down: u64,
    /// Extra copies made by duplication.
    pub duplicated: u64,
    /// Datagrams picked for reordering (they may or may not actually be overtaken).
    pub reordered: u64,
    /// Payload bytes handed to `send`.
    pub bytes_sent: u64,
    /// Payload bytes returned by `poll_delivery`.
    pub bytes_delivered: u64,
}

impl NetStats {
    /// Datagrams with a final outcome: delivered, lost or dropped.
    pub fn accounted(&self) -> u64 {
        self.delivered.saturating_add(self.lost).saturating_add(self.lost_burst).saturating_add(self.dropped())
    }

    /// Datagrams dropped for any reason other than random loss.
    pub fn dropped(&self) -> u64 {
        self.dropped_queue
            .saturating_add(self.dropped_unroutable)
            .saturating_add(self.dropped_nat_filter)
            .saturating_add(self.dropped_host_down)
    }
}

/// Adds `n` to a counter, saturating.
pub(crate) fn bump(counter: &mut u64, n: u64) {
    *counter = counter.saturating_add(n);
}
