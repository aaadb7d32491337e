//! Deterministic sample data: a fictional tenant's `CloudAppEvents` and a `FileProfile` table.
