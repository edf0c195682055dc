//! Cedar's knapsack fits (`CedarBackup3.knapsack`) and the spanning loop
//! built on them (`BackupFileList.generateSpan`), for `cback span`: the
//! same items in the same order give the same discs as Cedar's.
//!
//! Sizes and capacities are `f64`, and remaining room is decreased item by
//! item, as Cedar's Python floats are, so boundary cases round alike. Sorts
//! are stable (Python's are, `reverse=True` included).
//!
//! ```
//! use cedar::knapsack::{span, Algorithm};
//!
//! let items = [("a", 60.0), ("b", 50.0), ("c", 40.0), ("d", 30.0)];
//! let discs = span(&items, 100.0, Algorithm::Best).unwrap();
//! assert_eq!(discs[0].items, ["a", "c"]);
//! assert_eq!(discs[1].items, ["b", "d"]);
//! ```

/// The four fits Cedar offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// `first_fit`: items in their order.
    First,
    /// `best_fit`: largest first.
    Best,
    /// `worst_fit`: smallest first (Cedar's span default).
    Worst,
    /// `alternate_fit`: from both ends of the ascending order in turn.
    Alternate,
}

impl Algorithm {
    /// Every algorithm with the name `cback span` takes for it.
    pub const ALL: [(Algorithm, &'static str); 4] = [
        (Algorithm::First, "first"),
        (Algorithm::Best, "best"),
        (Algorithm::Worst, "worst"),
        (Algorithm::Alternate, "alternate"),
    ];

    /// The algorithm named `name` (`first`, `best`, `worst`, `alternate`).
    pub fn from_name(name: &str) -> Option<Algorithm> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(a, _)| *a)
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(a, _)| *a == self)
            .map_or("worst", |(_, n)| n)
    }
}

/// Bytes used and left while a disc is filled.
struct Room {
    used: f64,
    remaining: f64,
}

impl Room {
    /// Takes item `k` when it fits.
    fn consider(&mut self, k: usize, sizes: &[f64], taken: &mut Vec<usize>) {
        if self.remaining - sizes[k] >= 0.0 {
            taken.push(k);
            self.used += sizes[k];
            self.remaining -= sizes[k];
        }
    }
}

/// Greedily takes items in `order` (indexes into `sizes`) while they fit.
/// Returns the indexes taken, in the order taken, and the bytes used.
fn take(order: impl IntoIterator<Item = usize>, sizes: &[f64], capacity: f64) -> (Vec<usize>, f64) {
    let mut taken = Vec::new();
    let mut room = Room {
        used: 0.0,
        remaining: capacity,
    };
    for i in order {
        if room.remaining == 0.0 {
            break;
        }
        room.consider(i, sizes, &mut taken);
    }
    (taken, room.used)
}

/// Indexes of `sizes` in ascending size order (stable).
fn ascending(sizes: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by(|&a, &b| sizes[a].total_cmp(&sizes[b]));
    order
}

/// One fit of `sizes` into `capacity`: the indexes chosen, in Cedar's
/// order, and the bytes they use.
pub fn fit(sizes: &[f64], capacity: f64, algorithm: Algorithm) -> (Vec<usize>, f64) {
    match algorithm {
        Algorithm::First => take(0..sizes.len(), sizes, capacity),
        Algorithm::Best => {
            let mut order: Vec<usize> = (0..sizes.len()).collect();
            order.sort_by(|&a, &b| sizes[b].total_cmp(&sizes[a]));
            take(order, sizes, capacity)
        }
        Algorithm::Worst => take(ascending(sizes), sizes, capacity),
        Algorithm::Alternate => {
            let keys = ascending(sizes);
            let (front, back) = keys.split_at(keys.len() / 2);
            let back: Vec<usize> = back.iter().rev().copied().collect();
            let mut taken = Vec::new();
            let mut room = Room {
                used: 0.0,
                remaining: capacity,
            };
            let (mut i, mut j) = (0, 0);
            while room.remaining > 0.0 && (i < front.len() || j < back.len()) {
                if i < front.len() {
                    room.consider(front[i], sizes, &mut taken);
                    i += 1;
                }
                if j < back.len() {
                    room.consider(back[j], sizes, &mut taken);
                    j += 1;
                }
            }
            let used = room.used;
            (taken, used)
        }
    }
}

/// One disc of a span.
#[derive(Debug, Clone, PartialEq)]
pub struct Disc<K> {
    /// Its items, in the order the fit chose them.
    pub items: Vec<K>,
    /// Bytes they use.
    pub size: f64,
    /// Percent of the capacity used.
    pub utilization: f64,
}

/// Why a span is impossible.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpanError {
    /// An item larger than a whole disc (Cedar's message names the file).
    #[error("item {index} ({size} bytes) cannot fit in capacity {capacity} bytes")]
    TooBig {
        /// Its position in the input.
        index: usize,
        /// Its size.
        size: f64,
        /// The capacity.
        capacity: f64,
    },
}

/// Cedar's `generateSpan`: fits the remaining items (in their original
/// order) onto one disc after another until none is left.
pub fn span<K: Clone>(
    items: &[(K, f64)],
    capacity: f64,
    algorithm: Algorithm,
) -> Result<Vec<Disc<K>>, SpanError> {
    if let Some((index, (_, size))) = items.iter().enumerate().find(|(_, (_, s))| *s > capacity) {
        return Err(SpanError::TooBig {
            index,
            size: *size,
            capacity,
        });
    }
    let mut left: Vec<(K, f64)> = items.to_vec();
    let mut discs = Vec::new();
    while !left.is_empty() {
        let sizes: Vec<f64> = left.iter().map(|(_, s)| *s).collect();
        let (chosen, used) = fit(&sizes, capacity, algorithm);
        if chosen.is_empty() {
            // Only a zero capacity with items of size > 0 gets here, which
            // the check above already refused; stop rather than loop.
            break;
        }
        discs.push(Disc {
            items: chosen.iter().map(|&i| left[i].0.clone()).collect(),
            size: used,
            utilization: used / capacity * 100.0,
        });
        let mut keep = vec![true; left.len()];
        for &i in &chosen {
            keep[i] = false;
        }
        let mut k = keep.into_iter();
        left.retain(|_| k.next().unwrap_or(false));
    }
    Ok(discs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fits_choose_as_cedar_documents() {
        let sizes = [10.0, 40.0, 30.0, 20.0, 50.0];
        assert_eq!(fit(&sizes, 60.0, Algorithm::First), (vec![0, 1], 50.0));
        assert_eq!(fit(&sizes, 60.0, Algorithm::Best), (vec![4, 0], 60.0));
        assert_eq!(fit(&sizes, 60.0, Algorithm::Worst), (vec![0, 3, 2], 60.0));
        // ascending 0,3,2,1,4: front [0,3], back [4,1,2]
        assert_eq!(fit(&sizes, 60.0, Algorithm::Alternate), (vec![0, 4], 60.0));
        assert_eq!(fit(&[], 1.0, Algorithm::Alternate), (vec![], 0.0));
        // Equal sizes keep their order, descending too.
        assert_eq!(fit(&[5.0, 5.0, 5.0], 10.0, Algorithm::Best).0, [0, 1]);
    }

    #[test]
    fn spans_use_every_item_once_and_refuse_oversized_ones() {
        let items: Vec<(usize, f64)> = (0..40).map(|i| (i, ((i * 37) % 23 + 1) as f64)).collect();
        for (alg, _) in Algorithm::ALL {
            let discs = span(&items, 30.0, alg).unwrap();
            let mut all: Vec<usize> = discs.iter().flat_map(|d| d.items.clone()).collect();
            all.sort();
            assert_eq!(all, (0..40).collect::<Vec<_>>(), "{alg:?}");
            assert!(discs.iter().all(|d| d.size <= 30.0));
        }
        assert!(matches!(
            span(&[("a", 5.0), ("b", 31.0)], 30.0, Algorithm::First),
            Err(SpanError::TooBig { index: 1, .. })
        ));
        assert_eq!(
            Algorithm::from_name("alternate"),
            Some(Algorithm::Alternate)
        );
        assert_eq!(Algorithm::Worst.name(), "worst");
    }
}
