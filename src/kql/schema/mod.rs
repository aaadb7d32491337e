//! Built-in schemas of the Defender advanced-hunting tables.
