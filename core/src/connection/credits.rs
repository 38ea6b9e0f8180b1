//! Credit-based flow control (MS-SMB2 3.2.4.1.5, 3.2.5.1.4).

/// Tracks credits granted, MessageIds and the charge in flight.
#[derive(Clone, Debug)]
pub(crate) struct CreditWindow {
    /// Credits granted and not yet spent.
    pub(crate) available: u32,
    /// Next MessageId to assign.
    pub(crate) next_message_id: u64,
    /// Sum of charges of requests awaiting a final response.
    pub(crate) in_flight: u32,
    /// Whether multi-credit requests are allowed (2.1+ with LARGE_MTU).
    pub(crate) multi_credit: bool,
    pub(crate) total_granted: u64,
}

/// Snapshot of the credit counters, for tests and diagnostics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreditStats {
    /// Credits that can be spent now.
    pub available: u32,
    /// Charge of requests awaiting their final response.
    pub in_flight: u32,
    /// Next MessageId.
    pub next_message_id: u64,
    /// Credits granted over the connection's life (including the initial one).
    pub total_granted: u64,
}

impl CreditWindow {
    pub(crate) fn new() -> Self {
        // One credit before NEGOTIATE (MS-SMB2 3.2.4.1.5: MessageId 0).
        Self {
            available: 1,
            next_message_id: 0,
            in_flight: 0,
            multi_credit: false,
            total_granted: 1,
        }
    }

    /// Credits a request with this payload consumes (at least 1).
    pub(crate) fn charge_for(&self, payload: usize) -> u16 {
        if self.multi_credit && payload > 0 {
            // (max(sent, expected) - 1) / 65536 + 1
            u16::try_from((payload - 1) / 65536 + 1).unwrap_or(u16::MAX)
        } else {
            1
        }
    }

    /// The CreditCharge header value for a request of `charge` credits.
    pub(crate) fn header_charge(&self, charge: u16) -> u16 {
        if self.multi_credit { charge } else { 0 }
    }

    /// Spends `charge` credits; returns the first MessageId of the range.
    pub(crate) fn spend(&mut self, charge: u16) -> u64 {
        let c = u32::from(charge.max(1));
        // Below zero only with `dangerous_ignore_credit_limit`: the overdraft is the point.
        self.available = self.available.saturating_sub(c);
        self.in_flight += c;
        let id = self.next_message_id;
        self.next_message_id += u64::from(c);
        id
    }

    /// Leaves `n` MessageIds unused: they stay in the server's window, so they cost
    /// credits here without ever being answered.
    pub(crate) fn skip(&mut self, n: u64) {
        self.available = self
            .available
            .saturating_sub(u32::try_from(n).unwrap_or(u32::MAX));
        self.next_message_id = self.next_message_id.saturating_add(n);
    }

    /// A response granted `n` credits.
    pub(crate) fn grant(&mut self, n: u16) {
        self.available = self.available.saturating_add(u32::from(n));
        self.total_granted += u64::from(n);
    }

    /// A request's final response arrived (or it was abandoned).
    pub(crate) fn settle(&mut self, charge: u16) {
        self.in_flight = self.in_flight.saturating_sub(u32::from(charge.max(1)));
    }

    /// CreditRequest for a request of `charge`: replace what it spends and grow the window
    /// towards `target` (never asking for more than 512 extra at once).
    pub(crate) fn request_for(&self, charge: u16, target: u16) -> u16 {
        let window = self.available + self.in_flight;
        let grow = u32::from(target).saturating_sub(window).min(512);
        u16::try_from(u32::from(charge.max(1)) + grow).unwrap_or(u16::MAX)
    }

    pub(crate) fn stats(&self) -> CreditStats {
        CreditStats {
            available: self.available,
            in_flight: self.in_flight,
            next_message_id: self.next_message_id,
            total_granted: self.total_granted,
        }
    }
}
