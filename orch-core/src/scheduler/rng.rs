//! The scheduler's only source of randomness: a seeded SplitMix64.
//!
//! orch promises that the same state, evaluation and seed give a byte-identical plan, in
//! this release and the next. `rand`'s `StdRng` explicitly reserves the right to change
//! its algorithm between versions, so the scheduler owns this 20-line generator instead.

/// A small, fast, seedable generator (SplitMix64). Not for cryptography.
#[derive(Debug, Clone)]
pub struct SchedRng {
    state: u64,
}

impl SchedRng {
    /// A generator whose whole output is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        SchedRng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`0` when `n` is zero), without modulo bias worth noticing.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }

    /// Derives an independent seed for a sub-task (e.g. one evaluation of many).
    pub fn fork(&mut self) -> SchedRng {
        SchedRng::new(self.next_u64())
    }
}

#[cfg(test)]
mod tests;
