//! A Bloom filter of completed transaction ids: "certainly not in this
//! month" or "maybe". Stored in the database, so its layout and hash are
//! fixed: SHA-256 of the account and the canonical id, double hashing
//! (Kirsch and Mitzenmacher) for the probes.

use sha2::{Digest, Sha256};

/// False positives aimed at: one id in a hundred is looked up in a month
/// that does not hold it.
const FALSE_POSITIVE_RATE: f64 = 0.01;
/// Format of [`Bloom::to_bytes`].
const VERSION: u8 = 1;
/// The largest filter, 512 MiB: PostgreSQL stores no value over 1 GB, and
/// the next power of two (2^33 bits) is 1 GiB and two bytes, needed past
/// about 373 million ids a month. A month with more ids gets this size and
/// more false positives (6 % at 600 million): more ids looked up in a month
/// that does not hold them, never one missed.
const MAX_BITS: u64 = 1 << 32;

/// An id, hashed once for every filter it is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdHash(u64, u64);

impl IdHash {
    pub fn of(account: i64, key: &str) -> Self {
        let mut hash = Sha256::new();
        hash.update(account.to_le_bytes());
        hash.update(key.as_bytes());
        let digest = hash.finalize();
        let word = |i: usize| u64::from_le_bytes(digest[i..i + 8].try_into().expect("8 bytes"));
        // An odd step visits every bit of a power-of-two filter.
        IdHash(word(0), word(8) | 1)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bloom {
    /// A power of two of bits, in words.
    words: Vec<u64>,
    probes: u32,
}

impl Bloom {
    /// An empty filter sized for `ids` ids (and room to grow by a fifth).
    pub fn for_ids(ids: u64) -> Self {
        let (bits, probes) = size_for(ids);
        Bloom {
            words: vec![0; (bits / 64) as usize],
            probes,
        }
    }

    fn positions(&self, id: IdHash) -> impl Iterator<Item = u64> {
        let mask = self.words.len() as u64 * 64 - 1;
        (0..u64::from(self.probes)).map(move |i| id.0.wrapping_add(i.wrapping_mul(id.1)) & mask)
    }

    pub fn insert(&mut self, id: IdHash) {
        let bits: Vec<u64> = self.positions(id).collect();
        for bit in bits {
            self.words[(bit / 64) as usize] |= 1 << (bit % 64);
        }
    }

    /// False: the id is certainly not in the filter.
    pub fn may_contain(&self, id: IdHash) -> bool {
        self.positions(id).all(|bit| self.bit(bit))
    }

    /// [`Self::may_contain`] of each id, the same answers, about four
    /// times faster on filters larger than the CPU's caches.
    ///
    /// Checking one id at a time, each probe waits for a memory read whose
    /// result decides whether to read the next: the reads cannot overlap,
    /// and an import checking a million ids against 13 months spent 2 s
    /// waiting for them. Here the first two bits of every id are read
    /// without a branch between one id and the next, so the CPU keeps many
    /// reads in flight; that rules out most absent ids (a filter is about
    /// half ones), and only the rest get the full check.
    pub fn may_contain_each(&self, ids: &[IdHash]) -> Vec<bool> {
        let mut maybe: Vec<bool> = ids
            .iter()
            .map(|&id| {
                let mut bits = self.positions(id);
                let first = bits.next().is_none_or(|bit| self.bit(bit));
                let second = bits.next().is_none_or(|bit| self.bit(bit));
                first & second
            })
            .collect();
        for (maybe, &id) in maybe.iter_mut().zip(ids) {
            if *maybe {
                *maybe = self.may_contain(id);
            }
        }
        maybe
    }

    fn bit(&self, bit: u64) -> bool {
        self.words[(bit / 64) as usize] & (1 << (bit % 64)) != 0
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + self.words.len() * 8);
        out.push(VERSION);
        out.push(self.probes as u8);
        for word in &self.words {
            out.extend_from_slice(&word.to_le_bytes());
        }
        out
    }

    /// `None` for bytes no [`Bloom::to_bytes`] of this version wrote.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let (&[version, probes], words) = bytes.split_first_chunk::<2>()?;
        let valid = version == VERSION
            && (1..=16).contains(&probes)
            && words.len() >= 8
            && words.len() % 8 == 0
            && (words.len() / 8).is_power_of_two();
        valid.then(|| Bloom {
            words: words
                .chunks_exact(8)
                .map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes")))
                .collect(),
            probes: u32::from(probes),
        })
    }
}

/// Bits (a power of two, at most [`MAX_BITS`]) and probes per id of a
/// filter for `ids` ids and room to grow by a fifth.
fn size_for(ids: u64) -> (u64, u32) {
    let ids = (ids.max(64) as f64) * 1.2;
    let ln2 = std::f64::consts::LN_2;
    let bits = (-ids * FALSE_POSITIVE_RATE.ln() / (ln2 * ln2)).ceil() as u64;
    let bits = bits.next_power_of_two().clamp(64, MAX_BITS);
    let probes = ((bits as f64 / ids) * ln2).round().clamp(1.0, 16.0) as u32;
    (bits, probes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u64) -> String {
        format!(r#"[["id","TX-{n:08}"]]"#)
    }

    #[test]
    fn never_misses_an_id_it_holds_and_rarely_claims_one_it_does_not() {
        let mut bloom = Bloom::for_ids(50_000);
        for n in 0..50_000 {
            bloom.insert(IdHash::of((n % 97) as i64, &key(n)));
        }
        assert!((0..50_000).all(|n| bloom.may_contain(IdHash::of((n % 97) as i64, &key(n)))));
        let false_positives = (50_000..150_000)
            .filter(|n| bloom.may_contain(IdHash::of((n % 97) as i64, &key(*n))))
            .count();
        assert!(false_positives < 1_500, "{false_positives} in 100000");
        // The same id in another account is another id.
        let others = (0..10_000)
            .filter(|n| bloom.may_contain(IdHash::of(1000 + (n % 97) as i64, &key(*n))))
            .count();
        assert!(others < 200, "{others}");
    }

    #[test]
    fn checking_many_ids_at_once_gives_the_same_answers() {
        let mut bloom = Bloom::for_ids(20_000);
        for n in (0..40_000).step_by(2) {
            bloom.insert(IdHash::of(7, &key(n)));
        }
        let ids: Vec<IdHash> = (0..40_000).map(|n| IdHash::of(7, &key(n))).collect();
        let each: Vec<bool> = ids.iter().map(|&id| bloom.may_contain(id)).collect();
        assert_eq!(bloom.may_contain_each(&ids), each);
        assert!(each.iter().step_by(2).all(|&held| held));
        assert!(each.iter().filter(|&&maybe| maybe).count() < 20_400);
        // One probe per id: the second read is not there to make.
        let mut one_probe = Bloom::for_ids(10);
        one_probe.probes = 1;
        one_probe.insert(ids[0]);
        assert_eq!(one_probe.may_contain_each(&ids[..1]), [true]);
        assert_eq!(one_probe.may_contain_each(&[]), Vec::<bool>::new());
    }

    #[test]
    fn survives_the_round_trip_through_the_database_and_refuses_other_bytes() {
        let mut bloom = Bloom::for_ids(1000);
        bloom.insert(IdHash::of(1, "a"));
        let bytes = bloom.to_bytes();
        assert_eq!(Bloom::from_bytes(&bytes), Some(bloom.clone()));
        assert_eq!(Bloom::from_bytes(&[]), None);
        assert_eq!(Bloom::from_bytes(&bytes[..bytes.len() - 1]), None);
        let mut other_version = bytes.clone();
        other_version[0] = 2;
        assert_eq!(Bloom::from_bytes(&other_version), None);
    }

    /// A bank's month of 500 million ids (docs/scaling.md) needs a filter
    /// PostgreSQL can store: at most 512 MiB, with probes fit for its load.
    #[test]
    fn a_month_of_any_size_gets_a_filter_postgresql_can_store() {
        let stored_bytes = |bits: u64| 2 + bits / 8;
        for ids in [1_000, 100_000_000, 373_000_000, 500_000_000, 2_000_000_000] {
            let (bits, probes) = size_for(ids);
            assert!(stored_bytes(bits) < 1_000_000_000, "{ids} ids: {bits} bits");
            assert!(
                bits.is_power_of_two() && (1..=16).contains(&probes),
                "{ids}"
            );
            // The false-positive rate the size gives, never the worst case
            // of a filter half full or more.
            let load = ids as f64 * 1.2 / bits as f64;
            let rate = (1.0 - (-f64::from(probes) * load).exp()).powi(probes as i32);
            let bound = if bits < MAX_BITS { 0.011 } else { 0.5 };
            assert!(rate < bound, "{ids} ids: false positives {rate:.3}");
        }
        assert_eq!(size_for(500_000_000), (MAX_BITS, 5));
    }

    /// The hash is stored: it must never change (values from Python's
    /// hashlib over the same bytes).
    #[test]
    fn the_hash_is_fixed() {
        assert_eq!(
            IdHash::of(1, ""),
            IdHash(0xa63f_41d4_36a1_9f7c, 0x8d99_b683_e837_3617)
        );
        assert_eq!(
            IdHash::of(42, r#"[["id","TX-1"]]"#),
            IdHash(0x6f86_2e32_228c_b83f, 0x93d1_fef2_c4fb_a0eb)
        );
    }
}
