//! One request's cost, and percentiles over many.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::calls::rounds;
use crate::capacity::Capacity;

#[derive(Debug, Clone)]
pub struct Sample {
    pub calls: usize,
    /// Sequential round trips: calls that overlap count once.
    pub rounds: usize,
    pub total: Duration,
    /// Time outside DynamoDB: total minus the merged call intervals.
    pub own: Duration,
    /// What its calls consumed; zero unless they were described (see [`crate::capacity`]).
    pub capacity: Capacity,
}

impl Sample {
    /// From the request's total time and each call's (start, end) offset from its start.
    pub fn new(total: Duration, calls: Vec<(Duration, Duration)>) -> Self {
        let n = calls.len();
        let (rounds, inside) = rounds(calls);
        Self {
            calls: n,
            rounds,
            total,
            own: total.saturating_sub(inside),
            capacity: Capacity::default(),
        }
    }

    pub fn with_capacity(mut self, capacity: Capacity) -> Self {
        self.capacity = capacity;
        self
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Summary {
    pub n: usize,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
}

/// Nearest-rank percentiles (no interpolation).
pub fn summary(values: impl IntoIterator<Item = Duration>) -> Summary {
    let mut v: Vec<Duration> = values.into_iter().collect();
    if v.is_empty() {
        return Summary::default();
    }
    v.sort();
    let at = |p: f64| v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1];
    Summary {
        n: v.len(),
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        max: v[v.len() - 1],
    }
}

/// The value most samples share (calls and round trips are the same on almost every request
/// of a path; the odd SDK retry must not move them).
pub fn mode(values: impl IntoIterator<Item = usize>) -> usize {
    let mut counts = std::collections::BTreeMap::new();
    for v in values {
        *counts.entry(v).or_insert(0usize) += 1;
    }
    counts
        .into_iter()
        .max_by_key(|(v, c)| (*c, std::cmp::Reverse(*v)))
        .map_or(0, |(v, _)| v)
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Samples by what was measured (`K`: a subject and a path), each with the round it was
/// taken in.
#[derive(Debug, Clone)]
pub struct Rounds<K> {
    samples: BTreeMap<K, Vec<(usize, Sample)>>,
}

impl<K> Default for Rounds<K> {
    fn default() -> Self {
        Self {
            samples: BTreeMap::new(),
        }
    }
}

impl<K: Ord + Copy> Rounds<K> {
    /// One sample of `at`, taken in `round`.
    pub fn push(&mut self, at: K, round: usize, sample: Sample) {
        self.samples.entry(at).or_default().push((round, sample));
    }

    /// Every sample of `at`.
    pub fn get(&self, at: K) -> Vec<&Sample> {
        self.samples
            .get(&at)
            .map(|v| v.iter().map(|(_, s)| s).collect())
            .unwrap_or_default()
    }

    /// The samples of `at` taken in `round`.
    pub fn in_round(&self, at: K, round: usize) -> Vec<&Sample> {
        self.samples
            .get(&at)
            .map(|v| {
                v.iter()
                    .filter(|(r, _)| *r == round)
                    .map(|(_, s)| s)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The first sample of each key: what a capacity pass of one request each measured.
    pub fn firsts(&self) -> impl Iterator<Item = (K, &Sample)> {
        self.samples
            .iter()
            .filter_map(|(k, v)| v.first().map(|(_, s)| (*k, s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let s = summary((1..=100).map(Duration::from_millis));
        assert_eq!(s.p50, Duration::from_millis(50));
        assert_eq!(s.p99, Duration::from_millis(99));
        assert_eq!(s.max, Duration::from_millis(100));
    }

    #[test]
    fn mode_ignores_the_odd_retry() {
        assert_eq!(mode([3, 3, 4, 3, 2]), 3);
    }
}
