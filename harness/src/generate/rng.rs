//! splitmix64: a tiny, fully specified PRNG, so a generated fixture is
//! byte-identical on every platform and with every dependency version.

use xxhash_rust::xxh3::xxh3_64;

/// Golden-ratio increment of splitmix64 (Steele, Lea, Flood 2014).
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

#[derive(Debug, Clone)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// An independent stream for one item (one file, one definition): what it
    /// draws does not depend on how many numbers other items drew, so adding a
    /// noise file does not reshuffle every definition.
    pub(crate) fn stream(seed: u64, label: &str, index: usize) -> SplitMix64 {
        let mixed = seed
            ^ xxh3_64(label.as_bytes())
            ^ (index as u64).wrapping_add(1).wrapping_mul(GOLDEN_GAMMA);
        SplitMix64::new(finalize(mixed))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        finalize(self.state)
    }

    /// Uniform in `0..bound`; `bound` 0 yields 0. Multiply-shift (Lemire)
    /// keeps the bias below 2^-64 · bound, irrelevant for fixture shapes.
    pub(crate) fn below(&mut self, bound: usize) -> usize {
        if bound == 0 {
            return 0;
        }
        ((u128::from(self.next_u64()) * bound as u128) >> 64) as usize
    }

    /// True with probability `percent` / 100.
    pub(crate) fn percent(&mut self, percent: u32) -> bool {
        self.below(100) < percent as usize
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            None
        } else {
            items.get(self.below(items.len()))
        }
    }
}

/// The splitmix64 output function (a variant of MurmurHash3's finalizer).
fn finalize(value: u64) -> u64 {
    let mut z = value;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_splitmix64_sequence() {
        // First outputs of splitmix64 seeded with 1234567 (reference C code).
        let mut rng = SplitMix64::new(1_234_567);
        assert_eq!(rng.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(rng.next_u64(), 3_203_168_211_198_807_973);
    }

    #[test]
    fn streams_are_independent_and_repeatable() {
        let a1: Vec<u64> = (0..4)
            .map(|_| SplitMix64::stream(7, "frag", 3).next_u64())
            .collect();
        assert!(a1.windows(2).all(|w| w[0] == w[1]));
        let b = SplitMix64::stream(7, "frag", 4).next_u64();
        let c = SplitMix64::stream(7, "noise", 3).next_u64();
        assert_ne!(a1[0], b);
        assert_ne!(a1[0], c);
    }

    proptest::proptest! {
        #[test]
        fn below_stays_in_range(seed: u64, bound in 1usize..10_000) {
            let mut rng = SplitMix64::new(seed);
            for _ in 0..32 {
                proptest::prop_assert!(rng.below(bound) < bound);
            }
        }
    }
}
