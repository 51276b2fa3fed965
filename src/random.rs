//! Randomness, of two kinds that must not be mixed up.
//!
//! - Secrets (resume codes, the console token) come from the operating system's secure random
//!   source ([`Secrets::Os`], `getrandom(2)`), so nobody can predict them from what they saw.
//! - What only shapes a quiz (which questions an attempt draws, how options are lettered, the
//!   live room's questions) comes from a seeded generator the room owns (`fastrand::Rng`), so a
//!   run can be replayed from its seed. It is never used for a secret.
//!
//! Tests that need replayable secrets too use [`Secrets::Seeded`].

use crate::limits::CODE_LEN;

/// Length of a console token made by [`Secrets::token`].
pub const TOKEN_CHARS: usize = 16;
/// What a token is made of: letters and digits that cannot be mistaken for one another when
/// read off a log and typed (no 0/O/o, 1/l/I).
pub const TOKEN_ALPHABET: &[u8] = b"23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";

/// Letters and digits that cannot be misread for one another (no 0/o, 1/l/i).
pub const CODE_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// Where secrets (resume codes, console tokens) come from: the operating system's secure
/// random source, or, in tests only, a seeded generator so a run can be replayed exactly.
#[derive(Debug)]
pub enum Secrets {
    /// `getrandom(2)`: what a guesser cannot predict.
    Os,
    /// A fixed sequence, for tests on a virtual clock. Never use it to serve a class.
    Seeded(fastrand::Rng),
}

/// A run's id (the first half of its attempt ids): from the OS, so two runs sharing a results
/// file do not draw the same one.
pub fn run_id() -> u32 {
    let mut bytes = [0u8; 4];
    Secrets::Os.fill(&mut bytes);
    u32::from_le_bytes(bytes)
}

impl Secrets {
    /// Fills `bytes` with secret randomness.
    fn fill(&mut self, bytes: &mut [u8]) {
        match self {
            Secrets::Os => {
                if let Err(e) = getrandom::fill(bytes) {
                    // Never seen on Linux (getrandom(2) blocks until the pool is ready rather
                    // than fail); fall back to std's per-process random keys, which also come
                    // from the OS, rather than stop serving.
                    log::error!("the OS random source failed ({e}); using std's random keys");
                    use std::hash::{BuildHasher, Hasher};
                    for chunk in bytes.chunks_mut(8) {
                        let key = std::collections::hash_map::RandomState::new()
                            .build_hasher()
                            .finish();
                        chunk.copy_from_slice(&key.to_le_bytes()[..chunk.len()]);
                    }
                }
            }
            Secrets::Seeded(rng) => rng.fill(bytes),
        }
    }

    /// `len` characters drawn uniformly from `alphabet` (at most 256 letters): random bytes
    /// outside the largest multiple of the alphabet's size are drawn again, so no letter is
    /// likelier than another.
    pub fn string(&mut self, len: usize, alphabet: &[u8]) -> String {
        let n = alphabet.len().clamp(1, 256);
        let fair = 256 - 256 % n;
        let mut text = String::with_capacity(len);
        let mut pool = [0u8; 32];
        while text.len() < len {
            self.fill(&mut pool);
            for &b in &pool {
                if usize::from(b) < fair && text.len() < len {
                    text.push(char::from(alphabet[usize::from(b) % n]));
                }
            }
        }
        text
    }

    /// A fresh resume code.
    pub fn code(&mut self) -> String {
        self.string(CODE_LEN, CODE_ALPHABET)
    }

    /// A fresh console token, for when none was configured.
    pub fn token(&mut self) -> String {
        self.string(TOKEN_CHARS, TOKEN_ALPHABET)
    }

    /// 64 random bits from the OS (to seed a generator when no seed was given).
    pub fn u64(&mut self) -> u64 {
        let mut bytes = [0u8; 8];
        self.fill(&mut bytes);
        u64::from_le_bytes(bytes)
    }
}

/// A generator for what only shapes a quiz: from `seed` when one is given (a replayable run),
/// otherwise seeded from the OS.
pub fn quiz_rng(seed: Option<u64>) -> fastrand::Rng {
    fastrand::Rng::with_seed(seed.unwrap_or_else(|| Secrets::Os.u64()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_use_only_the_alphabet_and_every_letter_of_it() {
        let mut secrets = Secrets::Os;
        let mut seen = [false; 256];
        for _ in 0..2_000 {
            let code = secrets.code();
            assert_eq!(code.len(), CODE_LEN);
            for b in code.bytes() {
                assert!(CODE_ALPHABET.contains(&b), "{code}");
                seen[usize::from(b)] = true;
            }
        }
        assert!(CODE_ALPHABET.iter().all(|&b| seen[usize::from(b)]));
    }

    #[test]
    fn tokens_use_the_unambiguous_alphabet() {
        let mut os = Secrets::Os;
        let token = os.token();
        assert_eq!(token.len(), TOKEN_CHARS);
        assert!(
            token.bytes().all(|b| TOKEN_ALPHABET.contains(&b)),
            "{token}"
        );
        assert_ne!(token, os.token());
    }

    #[test]
    fn os_codes_differ_and_seeded_codes_replay() {
        let mut os = Secrets::Os;
        assert_ne!(os.code(), os.code());
        let mut a = Secrets::Seeded(fastrand::Rng::with_seed(7));
        let mut b = Secrets::Seeded(fastrand::Rng::with_seed(7));
        assert_eq!(a.code(), b.code());
    }

    #[test]
    fn letters_are_drawn_without_bias() {
        // 31 letters: a byte-modulo draw would favour the first 8 (256 = 8 * 31 + 8) by 1/8.
        let mut secrets = Secrets::Seeded(fastrand::Rng::with_seed(1));
        let mut counts = [0u32; 31];
        let text = secrets.string(310_000, CODE_ALPHABET);
        for b in text.bytes() {
            if let Some(i) = CODE_ALPHABET.iter().position(|&c| c == b) {
                counts[i] += 1;
            }
        }
        let (lo, hi) = (
            counts.iter().min().copied().unwrap_or(0),
            counts.iter().max().copied().unwrap_or(0),
        );
        // Expected 10,000 each; a biased draw gives ~11,000 for the first eight.
        assert!(lo > 9_500 && hi < 10_500, "{counts:?}");
    }
}
