//! Which bank shows what: the GPU's memory cut into equal banks (each a whole number or a simple
//! fraction of KV pages where the model has a KV cache), filled from a `Scene` in memory order:
//! weights, then each sequence's KV, then attention scores (or their ghosts when flash attention
//! avoids them). Every byte count comes from the calculator's report (one GPU's share of it when
//! the board is one of several); this module only cuts them into banks.

use crate::calc::report::{kv_bytes, share};
use crate::calc::Policy;
use crate::sim::Scene;

/// Bank kinds, as the bank shader knows them (`frame::contract`).
pub use crate::frame::contract::{
    KIND_FREE as FREE, KIND_GHOST as GHOST, KIND_HEADROOM as HEADROOM, KIND_KV as KV,
    KIND_RESERVED as RESERVED, KIND_SCORES as SCORES, KIND_WEIGHTS as WEIGHTS,
    STATE_FRESH as FRESH,
};
use crate::frame::contract::{STATE_KIND_MASK, STATE_SEQ_MASK, STATE_SEQ_SHIFT};

/// A bank state: kind, plus the sequence for KV and reserved banks.
pub fn state(kind: u32, seq: u32) -> u32 {
    kind | ((seq & STATE_SEQ_MASK) << STATE_SEQ_SHIFT)
}
pub fn kind_of(s: u32) -> u32 {
    s & STATE_KIND_MASK
}
pub fn seq_of(s: u32) -> u32 {
    (s >> STATE_SEQ_SHIFT) & STATE_SEQ_MASK
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemoryMap {
    /// Bytes one bank stands for.
    pub bank_bytes: u128,
    /// A bank is `pages_per_bank / banks_per_page` KV pages (0 / 1 when the model has no
    /// per-token cache), a fraction in lowest terms with a denominator of at most 16.
    pub pages_per_bank: u128,
    pub banks_per_page: u128,
    pub page_bytes: u128,
    /// Banks standing for the GPU's memory.
    pub banks: u32,
    pub states: Vec<u32>,
    pub weights_banks: u32,
    /// Banks holding each sequence's KV (used part).
    pub seq_banks: Vec<u32>,
    pub reserved_banks: u32,
    pub score_banks: u32,
    pub ghost_banks: u32,
    /// First bank past the engine's utilization limit.
    pub headroom_from: u32,
    /// GPUs the weights and KV are split over (tensor parallel); the board shows one of them.
    pub shards: u64,
    /// Score (or ghost) banks that did not find free memory on the board.
    pub scores_unshown_banks: u128,
}

impl MemoryMap {
    /// Maps a scene onto at most `capacity` banks.
    pub fn build(scene: &Scene, capacity: u32) -> MemoryMap {
        let mut m = MemoryMap::default();
        m.rebuild(scene, capacity);
        m
    }

    /// GPUs the board is split over (tensor parallel), fixed for a sweep by the simulation.
    pub fn shards(scene: &Scene) -> u64 {
        scene.shards.max(1)
    }

    /// The bank size for a scene on `capacity` banks: whole pages (of one shard), or an equal part of
    /// one page when pages are large. Returns (bank bytes, pages per bank, banks per page, page bytes).
    pub fn bank_size(scene: &Scene, capacity: u32) -> (u128, u128, u128, u128) {
        let s = &scene.settings;
        let mem = s.gpu.memory_bytes as u128;
        let cap = capacity.max(1) as u128;
        let page = scene.report.per_gpu.block_bytes;
        if page == 0 {
            return (mem.div_ceil(cap), 0, 1, 0);
        }
        // A bank is k/j pages (j <= 16): the smallest such size that fits the grid, so the
        // modules fill up while banks stay in simple fractions of a page.
        let mut best = (u128::MAX, 1u128, 1u128);
        for j in 1..=16u128 {
            let k = (mem * j).div_ceil(cap * page).max(1);
            if gcd(k, j) != 1 {
                continue;
            }
            let bank = (page * k).div_ceil(j);
            if bank < best.0 {
                best = (bank, k, j);
            }
        }
        (best.0, best.1, best.2, page)
    }

    /// Recomputes in place, reusing the state vector's allocation.
    pub fn rebuild(&mut self, scene: &Scene, capacity: u32) {
        let pg = &scene.report.per_gpu;
        let (bank, k, j, page) = MemoryMap::bank_size(scene, capacity);
        self.banks_per_page = j;
        self.shards = pg.gpus;
        self.bank_bytes = bank;
        self.pages_per_bank = k;
        self.page_bytes = page;
        let mem = scene.settings.gpu.memory_bytes as u128;
        let n = mem.div_ceil(bank).min(capacity as u128) as u32;
        self.banks = n;
        self.states.clear();
        self.states.resize(n as usize, FREE);

        // Weights first.
        let w = self.banks_of(pg.weights_bytes);
        let mut cursor: u128 = 0;
        fill(&mut self.states, &mut cursor, w, WEIGHTS);
        self.weights_banks = w.min(n as u128) as u32;
        self.seq_banks.clear();
        self.reserved_banks = 0;
        let cursor = match scene.settings.policy() {
            Policy::Static | Policy::Continuous => self.place_sequences(scene, cursor),
            Policy::Paged => self.place_pages(scene, cursor),
        };
        self.place_scores(scene, cursor);
        self.mark_headroom(scene);
    }

    /// Banks `bytes` take, rounded up.
    fn banks_of(&self, bytes: u128) -> u128 {
        bytes.div_ceil(self.bank_bytes)
    }

    /// Each sequence's KV (with its fixed linear-attention state), one GPU's share of it, from
    /// `cursor`; under static batching followed by the rest of its reservation. Returns where
    /// free memory starts.
    fn place_sequences(&mut self, scene: &Scene, mut cursor: u128) -> u128 {
        let s = &scene.settings;
        let r = &scene.report;
        let shards = r.per_gpu.gpus;
        let per_seq_fixed = if s.batch > 0 {
            share(r.fixed_state_bytes / s.batch as u128, shards)
        } else {
            0
        };
        let reserve = if s.policy() == Policy::Static {
            share(r.allocated_bytes.static_ / s.batch.max(1) as u128, shards) + per_seq_fixed
        } else {
            0
        };
        let kv = s.kv();
        for (i, &n) in scene.lengths.iter().enumerate() {
            let used =
                share(kv_bytes(&s.model, kv, n), shards) + if n > 0 { per_seq_fixed } else { 0 };
            // Coloured by request id: a new request in a slot gets a new colour.
            let id = scene.ids.get(i).copied().unwrap_or(i as u32);
            let growing = !scene.done.get(i).copied().unwrap_or(false);
            let ub = self.banks_of(used);
            let start = cursor;
            fill(&mut self.states, &mut cursor, ub, state(KV, id));
            mark_fresh(
                &mut self.states,
                start,
                cursor,
                ub > 0 && growing && scene.progress < 1.0,
            );
            self.seq_banks.push(ub.min(u32::MAX as u128) as u32);
            let rb = self.banks_of(reserve).saturating_sub(ub);
            fill(&mut self.states, &mut cursor, rb, state(RESERVED, id));
            self.reserved_banks += rb.min(u32::MAX as u128) as u32;
        }
        cursor
    }

    /// Paged attention: the allocator's pool sits after the weights and the fixed state; block q
    /// is page q of the pool, a bank covers k/j pages. Returns where the pool starts (its holes
    /// are free memory).
    fn place_pages(&mut self, scene: &Scene, mut cursor: u128) -> u128 {
        let fixed_banks = self.banks_of(scene.report.per_gpu.fixed_state_bytes);
        fill(&mut self.states, &mut cursor, fixed_banks, state(KV, 0));
        self.seq_banks = vec![0; scene.lengths.len()];
        let kv_start = cursor.min(self.banks as u128) as usize;
        let (num, den) = (
            self.pages_per_bank as u64,
            (self.banks_per_page * scene.block_pages.max(1)) as u64,
        );
        let Some(blocks) = scene.blocks.as_ref().filter(|_| num > 0) else {
            return kv_start as u128;
        };
        // The owner's slot looked up only when the owner changes (u64 arithmetic: u128 division
        // per bank is slow).
        let mut slots: Vec<(u32, usize)> = scene
            .ids
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, i))
            .collect();
        slots.sort_unstable();
        let mut last = (crate::sim::allocator::FREE, None::<usize>);
        for (b, st) in self.states.iter_mut().enumerate().skip(kv_start) {
            let q = ((b - kv_start) as u64 * num / den) as usize;
            match blocks.get(q) {
                Some(&o) if o != crate::sim::allocator::FREE => {
                    *st = state(KV, o);
                    if o != last.0 {
                        let slot = slots.binary_search_by_key(&o, |x| x.0).ok();
                        last = (o, slot.map(|i| slots[i].1));
                    }
                    if let Some(i) = last.1 {
                        self.seq_banks[i] += 1;
                    }
                }
                Some(_) => {}
                None => break,
            }
        }
        // The bank holding each growing sequence's newest block pulses.
        if scene.progress < 1.0 {
            for &blk in &scene.newest_blocks {
                // the last bank whose first block is at or before `blk`
                let b = kv_start + (((blk as u64 + 1) * den).div_ceil(num.max(1)) - 1) as usize;
                if let Some(st) = self.states.get_mut(b) {
                    if kind_of(*st) == KV {
                        *st |= FRESH;
                    }
                }
            }
        }
        kv_start as u128
    }

    /// Attention scores: real (materialised at prefill) without flash attention, ghosts with it,
    /// one shard's heads; either way in the free memory they would take, from the top down, apart
    /// from what lies before `from`. What does not fit is reported with the scores, not as the
    /// GPU's overflow (the calculator's total counts weights and KV).
    fn place_scores(&mut self, scene: &Scene, from: u128) {
        let fa = scene.settings.fa;
        let sb = self.banks_of(scene.report.per_gpu.scores_bytes);
        self.score_banks = 0;
        self.ghost_banks = 0;
        self.scores_unshown_banks = 0;
        if sb == 0 {
            return;
        }
        let kind = if fa { GHOST } else { SCORES };
        let from = from.min(self.banks as u128) as usize;
        let mut placed = 0u128;
        for st in self.states.iter_mut().skip(from).rev() {
            if placed >= sb {
                break;
            }
            if *st == FREE {
                *st = kind;
                placed += 1;
            }
        }
        if fa {
            self.ghost_banks = placed as u32;
        } else {
            self.score_banks = placed as u32;
        }
        self.scores_unshown_banks = sb - placed;
    }

    /// Free memory past what the engine lets weights and KV take (its utilization budget less its
    /// own activation and non-torch memory).
    fn mark_headroom(&mut self, scene: &Scene) {
        let mem = scene.settings.gpu.memory_bytes as u128;
        let limit = scene.report.per_gpu.engine_limit_bytes.min(mem) as f64 / mem.max(1) as f64;
        self.headroom_from = ((self.banks as f64) * limit).floor() as u32;
        for st in self.states.iter_mut().skip(self.headroom_from as usize) {
            if *st == FREE {
                *st = HEADROOM;
            }
        }
    }

    /// Banks whose kind is `kind`.
    pub fn count(&self, kind: u32) -> u32 {
        self.states.iter().filter(|s| kind_of(**s) == kind).count() as u32
    }
}

fn gcd(a: u128, b: u128) -> u128 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Writes `count` banks of `st` from `cursor`, clipped to the map; advances the cursor regardless.
fn fill(states: &mut [u32], cursor: &mut u128, count: u128, st: u32) {
    let n = states.len() as u128;
    let a = (*cursor).min(n) as usize;
    let b = (*cursor + count).min(n) as usize;
    for s in &mut states[a..b] {
        *s = st;
    }
    *cursor += count;
}

fn mark_fresh(states: &mut [u32], start: u128, end: u128, on: bool) {
    if on && end > start {
        let last = (end - 1) as usize;
        if last < states.len() {
            states[last] |= FRESH;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use std::sync::Arc;

    fn settings() -> crate::sim::Settings {
        let c = Catalog::builtin().unwrap();
        crate::sim::Settings::new(
            Arc::new(c.model("llama-3.1-8b").unwrap().clone()),
            Arc::new(c.gpu("h100").unwrap().clone()),
        )
    }

    #[test]
    fn the_newest_paged_block_pulses() {
        let mut s = settings();
        s.cb = true;
        s.pa = true;
        let mut sim = crate::sim::Sim::new(&s);
        sim.advance(5.0);
        let sc = sim.scene();
        assert_eq!(sc.newest_blocks.len(), 4);
        let map = MemoryMap::build(&sc, 20_000);
        let fresh = map.states.iter().filter(|st| **st & FRESH != 0).count();
        // one pulsing bank per growing sequence (two can share a bank)
        assert!((1..=4).contains(&fresh), "{fresh}");
        // and each is a bank of that sequence
        for st in map.states.iter().filter(|st| **st & FRESH != 0) {
            let id = seq_of(*st);
            assert!(sc.ids.iter().any(|i| i & 0xff == id), "{st:#x}");
        }
    }
}
