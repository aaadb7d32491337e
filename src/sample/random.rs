//! Seeded randomness helpers: identifiers, hex digests, choices.
//!
//! Everything random in the sample data is drawn from one `ChaCha8Rng` (portable: the same seed gives the same
//! stream on every platform) through these helpers. Nothing here may use `thread_rng`, the clock or hash-map order.

use rand::{Rng, RngExt};
use rand_chacha::ChaCha8Rng;

/// The generator behind every sample value.
pub(crate) type SampleRng = ChaCha8Rng;

const LOWER_HEX: &[u8; 16] = b"0123456789abcdef";
const UPPER_ALPHANUMERIC: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// A random version-4 GUID in lowercase, e.g. `3f2b6c1e-9d4a-4f7b-8c2e-1a5d9e7b3c40`.
pub(crate) fn guid(rng: &mut SampleRng) -> String {
    let high = rng.next_u64();
    let low = rng.next_u64();
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&high.to_be_bytes());
    bytes[8..].copy_from_slice(&low.to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut text = String::with_capacity(36);
    for (index, byte) in bytes.iter().enumerate() {
        if matches!(index, 4 | 6 | 8 | 10) {
            text.push('-');
        }
        text.push(char::from(LOWER_HEX[usize::from(byte >> 4)]));
        text.push(char::from(LOWER_HEX[usize::from(byte & 0x0f)]));
    }
    text
}

/// `length` random lowercase hex digits (hashes, device ids).
pub(crate) fn hex(rng: &mut SampleRng, length: usize) -> String {
    from_alphabet(rng, LOWER_HEX, length)
}

/// `length` random characters from `A-Z0-9` (device name suffixes).
pub(crate) fn upper_alphanumeric(rng: &mut SampleRng, length: usize) -> String {
    from_alphabet(rng, UPPER_ALPHANUMERIC, length)
}

fn from_alphabet(rng: &mut SampleRng, alphabet: &[u8], length: usize) -> String {
    (0..length).map(|_| char::from(*pick(rng, alphabet))).collect()
}

/// A uniformly chosen element. `items` is always one of the generator's non-empty constant tables.
pub(crate) fn pick<'a, T>(rng: &mut SampleRng, items: &'a [T]) -> &'a T {
    &items[index(rng, items.len())]
}

/// A uniformly chosen text from one of the generator's non-empty constant tables.
pub(crate) fn pick_text(rng: &mut SampleRng, texts: &[&'static str]) -> &'static str {
    texts[index(rng, texts.len())]
}

/// A uniform index below `length` (0 when `length` is 0).
pub(crate) fn index(rng: &mut SampleRng, length: usize) -> usize {
    let length = length as u64;
    if length == 0 { 0 } else { rng.random_range(0..length) as usize }
}

/// An index drawn with the given relative weights.
pub(crate) fn weighted(rng: &mut SampleRng, weights: &[u32]) -> usize {
    let total: u64 = weights.iter().map(|weight| u64::from(*weight)).sum();
    let mut remaining = if total == 0 { 0 } else { rng.random_range(0..total) };
    for (position, weight) in weights.iter().enumerate() {
        let weight = u64::from(*weight);
        if remaining < weight {
            return position;
        }
        remaining -= weight;
    }
    0
}

/// True with probability `probability`.
pub(crate) fn chance(rng: &mut SampleRng, probability: f64) -> bool {
    rng.random::<f64>() < probability
}

/// A value in `[low, high)`, or `low` when the range is empty.
pub(crate) fn between(rng: &mut SampleRng, low: i64, high: i64) -> i64 {
    if high <= low { low } else { rng.random_range(low..high) }
}

/// A whole number in `[low, high]` (inclusive), or `low` when `high < low`.
pub(crate) fn count_between(rng: &mut SampleRng, low: u32, high: u32) -> u32 {
    if high <= low { low } else { rng.random_range(low..=high) }
}

/// Shuffles `items` in place (Fisher–Yates on the sample generator).
pub(crate) fn shuffle<T>(rng: &mut SampleRng, items: &mut [T]) {
    for last in (1..items.len()).rev() {
        let other = index(rng, last + 1);
        items.swap(last, other);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn guids_have_the_canonical_shape() {
        let mut rng = SampleRng::seed_from_u64(1);
        let value = guid(&mut rng);
        assert_eq!(value.len(), 36);
        assert_eq!(value.as_bytes()[14], b'4');
        assert!(value.chars().all(|character| character == '-' || character.is_ascii_hexdigit()));
    }

    #[test]
    fn weighted_never_picks_a_zero_weight() {
        let mut rng = SampleRng::seed_from_u64(2);
        assert!((0..500).all(|_| weighted(&mut rng, &[0, 3, 0, 1]) % 2 == 1));
    }
}
