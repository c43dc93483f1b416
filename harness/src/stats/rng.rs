//! Tiny, seeded, reproducible PRNGs (SplitMix64, and xoshiro256** seeded
//! through it) for bootstrap resampling, synthetic test data and the fixture
//! generator.
//!
//! Written here rather than pulled from `rand` so that results are bit-for-bit
//! stable across dependency upgrades: the same seed gives the same confidence
//! intervals in every version of the harness.

/// Golden-ratio increment of SplitMix64 (Steele, Lea, Flood 2014).
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, fully specified PRNG. It
/// expands a 64-bit seed into xoshiro's 256-bit state, as the xoshiro
/// authors recommend, and draws the generated fixtures' shapes, which must
/// be byte-identical on every platform and with every dependency version.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// An independent stream for one item (one file, one definition): what it
    /// draws does not depend on how many numbers other items drew, so adding a
    /// noise file does not reshuffle every definition.
    pub fn stream(seed: u64, label: &str, index: usize) -> SplitMix64 {
        let mixed = seed
            ^ xxhash_rust::xxh3::xxh3_64(label.as_bytes())
            ^ (index as u64).wrapping_add(1).wrapping_mul(GOLDEN_GAMMA);
        SplitMix64::new(finalize(mixed))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        finalize(self.state)
    }

    /// Uniform in `0..bound`; `bound` 0 yields 0. Multiply-shift (Lemire)
    /// keeps the bias below 2^-64 · bound, irrelevant for fixture shapes.
    pub fn below(&mut self, bound: usize) -> usize {
        if bound == 0 {
            return 0;
        }
        ((u128::from(self.next_u64()) * bound as u128) >> 64) as usize
    }

    /// True with probability `percent` / 100.
    pub fn percent(&mut self, percent: u32) -> bool {
        self.below(100) < percent as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            None
        } else {
            items.get(self.below(items.len()))
        }
    }
}

/// The SplitMix64 output function (a variant of MurmurHash3's finalizer).
fn finalize(value: u64) -> u64 {
    let mut z = value;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// xoshiro256** 1.0 (Blackman, Vigna 2018): fast, 256-bit state, passes
/// BigCrush; more than good enough for resampling indices.
#[derive(Debug, Clone)]
pub struct Xoshiro256StarStar {
    state: [u64; 4],
}

impl Xoshiro256StarStar {
    /// Seeds the 256-bit state from one `u64` through SplitMix64 (never all
    /// zero, which would be a fixed point).
    pub fn seed_from_u64(seed: u64) -> Self {
        let mut expander = SplitMix64::new(seed);
        Self {
            state: [
                expander.next_u64(),
                expander.next_u64(),
                expander.next_u64(),
                expander.next_u64(),
            ],
        }
    }

    /// Uses `state` as is; only for reproducing reference vectors.
    pub fn from_state(state: [u64; 4]) -> Self {
        Self { state }
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.state[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.state[1] << 17;
        self.state[2] ^= self.state[0];
        self.state[3] ^= self.state[1];
        self.state[1] ^= self.state[2];
        self.state[0] ^= self.state[3];
        self.state[2] ^= t;
        self.state[3] = self.state[3].rotate_left(45);
        result
    }

    /// A uniform integer in `0..bound` without modulo bias (Lemire's
    /// multiply-and-reject method). `bound` must be non-zero.
    pub fn below(&mut self, bound: usize) -> usize {
        debug_assert!(bound > 0, "below(0) has no valid result");
        let bound = bound.max(1) as u64;
        let threshold = bound.wrapping_neg() % bound;
        loop {
            let product = u128::from(self.next_u64()) * u128::from(bound);
            if (product as u64) >= threshold {
                return (product >> 64) as usize;
            }
        }
    }

    /// A uniform float in `[0, 1)` with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A standard normal deviate (Box–Muller; one of the pair is dropped to
    /// keep the generator stateless beyond its 256 bits).
    pub fn standard_normal(&mut self) -> f64 {
        // 1 - u is in (0, 1], so the logarithm is finite.
        let u1 = 1.0 - self.next_f64();
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_reference_output() {
        // First outputs of the reference C implementation seeded with 0.
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn xoshiro256starstar_matches_the_reference_output() {
        // Reference C implementation with state {1, 2, 3, 4}.
        let mut rng = Xoshiro256StarStar::from_state([1, 2, 3, 4]);
        assert_eq!(rng.next_u64(), 11520);
        assert_eq!(rng.next_u64(), 0);
        assert_eq!(rng.next_u64(), 1_509_978_240);
        assert_eq!(rng.next_u64(), 1_215_971_899_390_074_240);
    }

    #[test]
    fn same_seed_same_stream() {
        let mut a = Xoshiro256StarStar::seed_from_u64(42);
        let mut b = Xoshiro256StarStar::seed_from_u64(42);
        let mut c = Xoshiro256StarStar::seed_from_u64(43);
        let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        let zs: Vec<u64> = (0..8).map(|_| c.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut rng = Xoshiro256StarStar::seed_from_u64(7);
        let mut seen = [0usize; 7];
        for _ in 0..7000 {
            let i = rng.below(7);
            seen[i] += 1;
        }
        // Each bucket expects 1000; 800 is > 6 standard deviations away.
        assert!(seen.iter().all(|&count| count > 800), "{seen:?}");
    }

    #[test]
    fn uniform_and_normal_have_the_expected_moments() {
        let mut rng = Xoshiro256StarStar::seed_from_u64(11);
        let n = 20_000;
        let uniforms: Vec<f64> = (0..n).map(|_| rng.next_f64()).collect();
        assert!(uniforms.iter().all(|u| (0.0..1.0).contains(u)));
        let mean_u = uniforms.iter().sum::<f64>() / n as f64;
        assert!((mean_u - 0.5).abs() < 0.01, "{mean_u}");

        let normals: Vec<f64> = (0..n).map(|_| rng.standard_normal()).collect();
        let mean = normals.iter().sum::<f64>() / n as f64;
        let var = normals.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        assert!(mean.abs() < 0.03, "{mean}");
        assert!((var - 1.0).abs() < 0.05, "{var}");
    }

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
