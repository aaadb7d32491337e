//! `huntbook.yaml`. (Loading and validation are being written.)

pub mod secret;
