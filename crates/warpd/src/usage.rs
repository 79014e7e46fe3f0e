//! What a user holds across all its connections: what quotas and the
//! descriptor budget count.

/// What one user holds, across all its connections (for quotas).
#[derive(Default, Clone, Copy, Debug)]
pub struct Usage {
    pub connections: u32,
    pub queues: u32,
    pub regions: u32,
    pub registered_bytes: u64,
    pub sessions: u32,
    pub in_flight: u32,
}
