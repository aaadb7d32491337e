//! HTML e-mails (being written).
