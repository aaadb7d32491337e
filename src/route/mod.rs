//! Routing hits to receivers: `when` conditions, grouping into messages.

pub mod message;
