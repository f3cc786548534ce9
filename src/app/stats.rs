//! Bounded frame statistics: the last `cap` samples in a ring allocated once, so a window that runs
//! for days keeps the same memory; medians and percentiles are taken from the ring when asked.

/// The last `cap` samples (milliseconds, or any measure) and how many there were in all.
#[derive(Clone, Debug)]
pub struct Samples {
    ring: Vec<f32>,
    cap: usize,
    next: usize,
    count: u64,
}

/// Samples kept by a window run: about 4.5 minutes at 60 fps, 64 KiB (small, so its pages are all
/// touched soon after launch and the resident size settles).
pub const KEPT: usize = 1 << 14;

impl Samples {
    /// Keeps the last `cap` (at least 1) samples.
    pub fn new(cap: usize) -> Samples {
        let cap = cap.max(1);
        Samples {
            ring: Vec::with_capacity(cap),
            cap,
            next: 0,
            count: 0,
        }
    }

    pub fn push(&mut self, v: f64) {
        let v = v as f32;
        if self.ring.len() < self.cap {
            self.ring.push(v);
        } else {
            self.ring[self.next] = v;
        }
        self.next = (self.next + 1) % self.cap;
        self.count += 1;
    }

    /// Samples pushed in all (kept or not).
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Samples kept.
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// Room for samples (it never grows past this).
    pub fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    pub fn clear(&mut self) {
        self.ring.clear();
        self.next = 0;
        self.count = 0;
    }

    /// The kept samples, oldest first.
    pub fn values(&self) -> Vec<f64> {
        let (new, old) = self.ring.split_at(self.next.min(self.ring.len()));
        old.iter().chain(new).map(|&v| v as f64).collect()
    }

    /// The `q` quantile (0..1) of the kept samples, nearest rank; None when there are none.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.ring.is_empty() {
            return None;
        }
        let mut v = self.ring.clone();
        let rank = ((q.clamp(0.0, 1.0) * v.len() as f64).ceil() as usize).clamp(1, v.len());
        let (_, x, _) = v.select_nth_unstable_by(rank - 1, |a, b| a.total_cmp(b));
        Some(*x as f64)
    }

    /// The median (the upper one of an even count).
    pub fn median(&self) -> Option<f64> {
        if self.ring.is_empty() {
            return None;
        }
        let mut v = self.ring.clone();
        let mid = v.len() / 2;
        let (_, x, _) = v.select_nth_unstable_by(mid, |a, b| a.total_cmp(b));
        Some(*x as f64)
    }

    pub fn p95(&self) -> Option<f64> {
        self.quantile(0.95)
    }
}

#[cfg(test)]
mod tests {
    use super::Samples;

    #[test]
    fn a_full_ring_keeps_the_latest_samples_in_fixed_room() {
        let mut s = Samples::new(4);
        for v in 1..=10 {
            s.push(v as f64);
        }
        assert_eq!(s.count(), 10);
        assert_eq!(s.len(), 4);
        assert_eq!(s.capacity(), 4);
        assert_eq!(s.values(), vec![7.0, 8.0, 9.0, 10.0]);
        // Median of 7, 8, 9, 10: the upper middle one.
        assert_eq!(s.median(), Some(9.0));
        assert_eq!(s.p95(), Some(10.0));
        s.clear();
        assert_eq!(s.median(), None);
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let mut s = Samples::new(1000);
        // 1..=100 shuffled by a stride coprime with 100.
        for i in 0..100u32 {
            s.push(((i * 37) % 100 + 1) as f64);
        }
        assert_eq!(s.p95(), Some(95.0));
        assert_eq!(s.quantile(0.5), Some(50.0));
        assert_eq!(s.median(), Some(51.0));
        assert_eq!(s.quantile(1.0), Some(100.0));
        assert_eq!(s.quantile(0.0), Some(1.0));
    }
}
