//! SplitMix64: the simulation's only source of randomness, so a seed fixes every choice.
//! orch-core's generator rather than a crate's: its output must never change under a
//! dependency update (a recorded seed would stop replaying).

/// Sebastiano Vigna's SplitMix64 generator: orch-core's (the scheduler's, whose output
/// is promised not to change), with the simulation's own draws on top.
#[derive(Debug, Clone)]
pub(super) struct SplitMix64(orch_core::scheduler::rng::SchedRng);

impl SplitMix64 {
    /// A generator started at `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(orch_core::scheduler::rng::SchedRng::new(seed))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A number in `0..n` (`n > 0`; the modulo bias is irrelevant here).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

/// FNV-1a over a run's events: two runs of one seed are the same run when their trace
/// hashes are equal.
#[derive(Debug, Clone, Copy)]
pub(super) struct TraceHash(pub u64);

impl Default for TraceHash {
    fn default() -> Self {
        TraceHash(0xcbf2_9ce4_8422_2325)
    }
}

impl TraceHash {
    /// Mixes `values` into the hash.
    pub fn add(&mut self, values: &[u64]) {
        for v in values {
            for b in v.to_le_bytes() {
                self.0 ^= u64::from(b);
                self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_reference_output() {
        // First outputs for seed 1234567 of the reference C implementation.
        let mut r = SplitMix64::new(1_234_567);
        assert_eq!(r.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(r.next_u64(), 3_203_168_211_198_807_973);
    }
}
