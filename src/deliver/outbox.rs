//! The outbox loop (being written).
