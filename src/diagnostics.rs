//! Rendering of user-facing errors.
