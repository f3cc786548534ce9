//! The simulation: settings (what the user chose) plus time give a `Scene` (what memory holds now).
//! Pure and deterministic: no pixels, no wgpu. Rendering and layout read a `Scene`, never `Settings`.

pub mod allocator;

use crate::calc::{self, Dtype, Model, Policy, Report, WeightFormat, Workload};
use crate::catalog::Gpu;
use allocator::BlockAllocator;
use std::sync::Arc;

/// Seconds one sweep from 0 to the full context takes at 1x.
pub const SWEEP_SECONDS: f64 = 24.0;

/// The context presets the Left/Right keys step through (the seeds' list).
pub const CONTEXT_PRESETS: [u64; 11] = [
    4096,
    8192,
    16_384,
    32_768,
    65_536,
    131_072,
    204_800,
    1_000_000,
    2_000_000,
    10_000_000,
    100_000_000,
];

/// Most sequences the scene draws (each needs its own colour and row in the legend).
pub const MAX_SCENE_BATCH: u64 = 256;

/// The speeds the +/- keys step through.
pub const SPEEDS: [f64; 8] = [0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0];

/// Everything the user can set. The same struct is filled by CLI flags and by keys.
#[derive(Clone, Debug)]
pub struct Settings {
    pub model: Arc<Model>,
    pub gpu: Arc<Gpu>,
    pub context: u64,
    pub batch: u64,
    /// None: the model's own dtype.
    pub kv_dtype: Option<Dtype>,
    pub weight_dtype: Option<Dtype>,
    /// Continuous batching.
    pub cb: bool,
    /// Paged attention.
    pub pa: bool,
    /// Flash attention.
    pub fa: bool,
    pub skip_weights: bool,
    /// The engine's utilization knob; None: its default.
    pub gpu_util: Option<f64>,
    /// Tokens per KV page (vLLM's `--block-size`).
    pub block_tokens: u64,
    /// The engine whose rules size the cache, and the deployment's parallelism (`tp` None: the
    /// board is one GPU of the fewest that hold the sweep, split evenly).
    pub engine: calc::Engine,
    pub tp: Option<u64>,
    pub pp: u64,
    /// vLLM `--max-num-batched-tokens` and `--max-num-seqs` (None: `vllm serve`'s defaults).
    pub max_num_batched_tokens: Option<u64>,
    pub max_num_seqs: Option<u64>,
    pub speed: f64,
    pub paused: bool,
    pub seed: u64,
    /// Stop at the end of the sweep instead of starting over.
    pub hold: bool,
}

impl Settings {
    pub fn new(model: Arc<Model>, gpu: Arc<Gpu>) -> Settings {
        Settings {
            model,
            gpu,
            context: 131_072,
            batch: 4,
            kv_dtype: None,
            weight_dtype: None,
            cb: false,
            pa: false,
            fa: false,
            skip_weights: false,
            gpu_util: None,
            block_tokens: calc::BLOCK_TOKENS,
            engine: calc::Engine::Vllm,
            tp: None,
            pp: 1,
            max_num_batched_tokens: None,
            max_num_seqs: None,
            speed: 1.0,
            paused: false,
            seed: 1,
            hold: false,
        }
    }

    pub fn policy(&self) -> Policy {
        if self.pa {
            Policy::Paged
        } else if self.cb {
            Policy::Continuous
        } else {
            Policy::Static
        }
    }

    /// The weights as the engine serves them (`dtype="auto"`), or as `--weight-dtype` says.
    pub fn weights(&self) -> WeightFormat {
        match self.weight_dtype {
            Some(d) => WeightFormat::for_dtype(d),
            None => calc::engine::served_weights(&self.model, &self.gpu.device()),
        }
    }

    /// The KV dtype: as set, else the compute dtype of the weights.
    pub fn kv(&self) -> Dtype {
        self.kv_dtype
            .unwrap_or_else(|| self.weights().default_kv_dtype())
    }

    /// Continuous batching and paged attention as an allocation policy asks for them.
    pub fn set_policy(&mut self, p: Policy) {
        self.cb = p != Policy::Static;
        self.pa = p == Policy::Paged;
    }

    /// The calculator's workload for these settings with sequences of `lengths` tokens, split
    /// evenly over `gpus` GPUs (None: as many as it needs). The one place settings become a
    /// workload: the window's panels and `kvscope calc` report from it alike.
    pub fn workload(&self, lengths: Vec<u64>, gpus: Option<u64>) -> Workload {
        let weights = self.weights();
        Workload {
            context: self.context,
            lengths,
            kv_dtype: self.kv_dtype.unwrap_or_else(|| weights.default_kv_dtype()),
            weights,
            skip_weights: self.skip_weights,
            policy: self.policy(),
            gpu_util: self.gpu_util,
            block_tokens: self.block_tokens,
            engine: self.engine,
            tp: self.tp,
            pp: self.pp,
            gpus,
            max_num_batched_tokens: self.max_num_batched_tokens,
            max_num_seqs: self.max_num_seqs,
        }
    }
}

/// A small deterministic generator (xorshift64*), so a seed fixes every random choice.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A sequence slot of the batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// Request id: sets the colour; a new request in the slot gets a new id.
    pub id: u32,
    /// Tokens held now.
    pub len: u64,
    /// Tokens the request will reach.
    pub target: u64,
    /// Finished, waiting for the batch (static batching keeps its memory).
    pub done: bool,
}

/// Most blocks the allocator's pool holds (the picture shows at most about a million banks).
pub const MAX_POOL_BLOCKS: u128 = 262_144;

/// Steps one sweep is cut into (a step grows every live sequence by the same number of tokens).
pub const STEPS_PER_SWEEP: u64 = 2048;
const SWEEP_NS: u128 = (SWEEP_SECONDS * 1e9) as u128;

/// The simulation: a batch of sequences growing, finishing and being replaced, memory handed out by
/// the allocation policy. Advanced by time; state changes only at whole steps, so the same simulated
/// seconds give the same state whatever the frame rate.
#[derive(Clone, Debug)]
pub struct Sim {
    pub settings: Settings,
    /// The KV dtype of `settings` (worked out once: it is asked for at every step).
    kv: Dtype,
    /// Simulated nanoseconds since the sweep started.
    time_ns: u128,
    step: u64,
    rng: Rng,
    slots: Vec<Slot>,
    next_id: u32,
    alloc: Option<BlockAllocator>,
    /// The calculator's report for the sweep's final (fullest) state: what `kvscope calc` prints
    /// for the same flags. Its `gpus_needed` is the board's split.
    sweep: Arc<Report>,
    /// GPUs the board is split over for this sweep (`sweep.gpus_needed`).
    shards: u64,
    /// Bytes of one page on one GPU of the split.
    page: u128,
    /// Pages per allocator block: 1 (vLLM's 16-token blocks) unless the pool would exceed
    /// `MAX_POOL_BLOCKS`, which happens only when the board is split over hundreds of GPUs.
    block_pages: u128,
    /// The owners of the pool's blocks as of `version`, shared with scenes.
    owners: Option<Arc<Vec<u32>>>,
    /// The model's layer groups (computed once, used every step).
    groups: Vec<calc::model::LayerGroup>,
    version: u64,
    /// Stop at the end of the sweep instead of restarting.
    pub hold: bool,
    /// Completed sweeps.
    pub sweeps: u64,
}

impl Sim {
    pub fn new(settings: &Settings) -> Sim {
        let mut sim = Sim {
            settings: settings.clone(),
            kv: settings.kv(),
            time_ns: 0,
            step: 0,
            rng: Rng::new(settings.seed),
            slots: Vec::new(),
            next_id: 0,
            alloc: None,
            sweep: Arc::new(Scene::report_for(settings, &[], None)),
            shards: 1,
            page: 0,
            block_pages: 1,
            owners: None,
            groups: settings.model.layer_groups(),
            version: 0,
            hold: false,
            sweeps: 0,
        };
        sim.start_sweep();
        sim
    }

    /// Bytes its collections hold (their capacity), to check that nothing grows as it runs.
    pub fn footprint(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Slot>()
            + self.alloc.as_ref().map_or(0, |a| a.footprint())
            + self.owners.as_ref().map_or(0, |o| o.capacity() * 4)
            + self.groups.capacity() * std::mem::size_of::<calc::model::LayerGroup>()
    }

    fn tokens_per_step(&self) -> u64 {
        self.settings.context.div_ceil(STEPS_PER_SWEEP).max(1)
    }

    fn steps_per_sweep(&self) -> u64 {
        self.settings.context.div_ceil(self.tokens_per_step())
    }

    fn new_target(&mut self) -> u64 {
        let c = self.settings.context as f64;
        ((c * (0.25 + 0.75 * self.rng.unit())).round() as u64).clamp(1, self.settings.context)
    }

    fn start_sweep(&mut self) {
        self.groups = self.settings.model.layer_groups();
        let s = &self.settings;
        // The board's split and the allocator's pool follow the sweep's final (fullest) state:
        // the GPUs `kvscope calc` says that state needs.
        let full = Scene::report_for(s, &vec![s.context; s.batch as usize], None);
        self.shards = full.per_gpu.gpus;
        self.page = full.per_gpu.block_bytes;
        self.time_ns = 0;
        self.step = 0;
        self.slots.clear();
        for i in 0..self.settings.batch {
            let id = self.next_id;
            self.next_id = self.next_id.wrapping_add(1);
            let target = if i == 0 {
                self.settings.context
            } else {
                self.new_target()
            };
            self.slots.push(Slot {
                id,
                len: 0,
                target,
                done: false,
            });
        }
        self.alloc = if self.settings.pa && self.page > 0 {
            let pages = full.per_gpu.kv_room_bytes / self.page;
            self.block_pages = pages.div_ceil(MAX_POOL_BLOCKS).max(1);
            Some(BlockAllocator::new((pages / self.block_pages) as u32))
                .filter(|_| self.settings.batch > 0)
        } else {
            None
        };
        self.sweep = Arc::new(full);
        self.version += 1;
        self.snapshot();
    }

    /// Shares the pool's owners with scenes (only when memory changed).
    fn snapshot(&mut self) {
        self.owners = self.alloc.as_ref().map(|a| Arc::new(a.owners().to_vec()));
    }

    /// Starts the sweep over.
    pub fn restart(&mut self) {
        self.start_sweep();
    }

    /// Takes new settings; anything that changes memory restarts the sweep.
    pub fn set_settings(&mut self, s: &Settings) {
        let old = &self.settings;
        let same_memory = old.model.id == s.model.id
            && old.gpu.id == s.gpu.id
            && old.context == s.context
            && old.batch == s.batch
            && old.kv() == s.kv()
            && old.weights() == s.weights()
            && old.cb == s.cb
            && old.pa == s.pa
            && old.skip_weights == s.skip_weights
            && old.gpu_util == s.gpu_util
            && old.block_tokens == s.block_tokens
            && old.engine == s.engine
            && old.tp == s.tp
            && old.pp == s.pp
            && old.seed == s.seed;
        let fa_changed = old.fa != s.fa;
        self.settings = s.clone();
        self.kv = s.kv();
        if !same_memory {
            self.rng = Rng::new(s.seed);
            self.start_sweep();
        } else if fa_changed {
            self.version += 1;
        }
    }

    /// Advances by `dt` wall seconds at the settings' speed (nothing moves while paused).
    pub fn advance(&mut self, dt: f64) {
        if self.settings.paused || dt.is_nan() || dt <= 0.0 {
            return;
        }
        let ns = (dt * 1e9).round() as u128;
        // speed is a multiple of 0.5: keep the arithmetic in integers.
        let twice = (self.settings.speed * 2.0).round().max(1.0) as u128;
        self.advance_sim_ns(ns * twice / 2);
    }

    /// Advances by simulated nanoseconds.
    pub fn advance_sim_ns(&mut self, ns: u128) {
        let before = self.version;
        self.step_to(ns);
        if self.version != before {
            self.snapshot();
        }
    }

    fn step_to(&mut self, ns: u128) {
        self.time_ns += ns;
        // Bound the work of one call (a long stall between frames does not freeze the program).
        let mut budget = 4 * STEPS_PER_SWEEP;
        while budget > 0 {
            let sps = self.steps_per_sweep() as u128;
            let target = (self.time_ns * sps / SWEEP_NS) as u64;
            if self.step >= target {
                break;
            }
            budget -= 1;
            if !self.do_step() {
                // Holding at the end: time does not pile up behind the hold.
                self.time_ns = self.time_ns.min(SWEEP_NS);
                break;
            }
        }
    }

    /// One step; false when the sweep ended and holds.
    fn do_step(&mut self) -> bool {
        let tps = self.tokens_per_step();
        let lead_done = self.slots.first().is_some_and(|s| s.len >= s.target);
        if lead_done {
            if self.hold || self.settings.hold {
                return false;
            }
            // The next sweep starts where this one's time ran out.
            let left = self.time_ns.saturating_sub(SWEEP_NS);
            self.sweeps += 1;
            self.start_sweep();
            self.time_ns = left;
            return true;
        }
        self.step += 1;
        let cb = self.settings.cb;
        for i in 0..self.slots.len() {
            let mut sl = self.slots[i];
            if sl.done {
                continue;
            }
            sl.len = (sl.len + tps).min(sl.target);
            if sl.len >= sl.target && i > 0 {
                if cb {
                    // Iteration-level scheduling: the slot takes the next request at once.
                    if let Some(a) = &mut self.alloc {
                        a.release(sl.id);
                    }
                    let target = self.new_target();
                    sl = Slot {
                        id: self.next_id,
                        len: 0,
                        target,
                        done: false,
                    };
                    self.next_id = self.next_id.wrapping_add(1);
                } else {
                    sl.done = true;
                }
            }
            self.slots[i] = sl;
        }
        let (shards, page, block_pages, kv, block) = (
            self.shards,
            self.page,
            self.block_pages,
            self.kv,
            self.settings.block_tokens,
        );
        if let Some(a) = &mut self.alloc {
            for sl in &self.slots {
                let b = if page == 0 {
                    0
                } else {
                    let (_, paged) =
                        calc::report::sequence_kv_bytes(&self.groups, kv, sl.len, block);
                    calc::report::share(paged, shards)
                        .div_ceil(page)
                        .div_ceil(block_pages) as u64
                };
                a.resize(sl.id, b);
            }
        }
        self.version += 1;
        true
    }

    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    pub fn allocator(&self) -> Option<&BlockAllocator> {
        self.alloc.as_ref()
    }

    /// Runs to the last step of the sweep (the lead sequence at the full context).
    pub fn run_to_end(&mut self) {
        let hold = self.hold;
        self.hold = true;
        let left = SWEEP_NS.saturating_sub(self.time_ns);
        self.advance_sim_ns(left + 1);
        self.hold = hold;
    }

    /// What memory holds now.
    pub fn scene(&self) -> Scene {
        let s = &self.settings;
        let lengths: Vec<u64> = self.slots.iter().map(|sl| sl.len).collect();
        let report = Scene::report_for(s, &lengths, Some(self.shards));
        let lead = self.slots.first().map(|sl| sl.len).unwrap_or(0);
        Scene {
            settings: s.clone(),
            time: self.time_ns as f64 / 1e9,
            progress: if s.context == 0 {
                0.0
            } else {
                lead as f64 / s.context as f64
            },
            lengths,
            ids: self.slots.iter().map(|sl| sl.id).collect(),
            done: self.slots.iter().map(|sl| sl.done).collect(),
            blocks: self.owners.clone(),
            newest_blocks: self
                .alloc
                .as_ref()
                .map(|a| {
                    self.slots
                        .iter()
                        .filter(|sl| !sl.done && sl.len < sl.target)
                        .filter_map(|sl| a.table(sl.id).last().copied())
                        .collect()
                })
                .unwrap_or_default(),
            block_pages: self.block_pages,
            overflow_blocks: self
                .alloc
                .as_ref()
                .map(|a| a.overflow_blocks())
                .unwrap_or(0),
            shards: self.shards,
            page_bytes: self.page,
            version: self.version,
            report,
            sweep: self.sweep.clone(),
        }
    }
}

/// What memory holds at one moment.
#[derive(Clone, Debug)]
pub struct Scene {
    pub settings: Settings,
    /// Simulated seconds since the sweep started.
    pub time: f64,
    /// The lead sequence's tokens over the context, 0..=1 (where the attention dot sits).
    pub progress: f64,
    /// Tokens each slot holds now.
    pub lengths: Vec<u64>,
    /// Request id of each slot (its colour).
    pub ids: Vec<u32>,
    /// Slots whose request finished and wait for the batch.
    pub done: Vec<bool>,
    /// Paged attention: the owner (request id) of every block of the pool, `allocator::FREE` if none.
    pub blocks: Option<Arc<Vec<u32>>>,
    /// The newest block of each growing sequence (it pulses).
    pub newest_blocks: Vec<u32>,
    /// Pages per allocator block (1: vLLM's 16-token blocks).
    pub block_pages: u128,
    /// Blocks wanted beyond the pool.
    pub overflow_blocks: u64,
    /// GPUs the board is split over (tensor parallel): the sweep's `gpus_needed`.
    pub shards: u64,
    /// Bytes of one page on one GPU of the split.
    pub page_bytes: u128,
    /// Changes whenever memory changed.
    pub version: u64,
    /// The calculator's report for `lengths`, split over `shards` GPUs.
    pub report: Report,
    /// The calculator's report for the sweep's fullest state (every sequence at the context):
    /// what `kvscope calc` prints for the same flags.
    pub sweep: Arc<Report>,
}

impl Scene {
    /// The calculator's report for these sequence lengths under the settings, split over `gpus`
    /// GPUs (None: as many as it needs).
    pub fn report_for(settings: &Settings, lengths: &[u64], gpus: Option<u64>) -> Report {
        let w = settings.workload(lengths.to_vec(), gpus);
        calc::report(&settings.model, &settings.gpu.device(), &w)
    }

    /// The state after `seconds` of simulated play from the start of a sweep.
    pub fn at(settings: &Settings, seconds: f64) -> Scene {
        let mut sim = Sim::new(settings);
        sim.advance_sim_ns((seconds.max(0.0) * 1e9).round() as u128);
        sim.scene()
    }

    /// The end of the sweep: the lead sequence at the full context.
    pub fn at_end(settings: &Settings) -> Scene {
        let mut sim = Sim::new(settings);
        sim.run_to_end();
        sim.scene()
    }

    /// Tokens of the lead sequence.
    pub fn current_tokens(&self) -> u64 {
        self.lengths.first().copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn settings() -> Settings {
        let c = Catalog::builtin().unwrap();
        Settings::new(
            Arc::new(c.model("llama-3.1-8b").unwrap().clone()),
            Arc::new(c.gpu("h100").unwrap().clone()),
        )
    }

    #[test]
    fn sweep_reaches_the_context_and_restarts() {
        let s = settings();
        assert_eq!(Scene::at(&s, 0.0).current_tokens(), 0);
        assert_eq!(Scene::at(&s, SWEEP_SECONDS / 2.0).current_tokens(), 65_536);
        assert_eq!(Scene::at_end(&s).current_tokens(), 131_072);
        // a quarter into the second sweep
        let mut sim = Sim::new(&s);
        sim.advance_sim_ns((SWEEP_SECONDS * 1.25e9) as u128 + 20_000_000);
        assert_eq!(sim.sweeps, 1);
        let t = sim.scene().current_tokens();
        assert!((32_000..33_500).contains(&t), "{t}");
    }

    #[test]
    fn same_seconds_same_state_at_30_and_240_hz() {
        let mut s = settings();
        s.cb = true;
        s.pa = true;
        s.batch = 8;
        s.speed = 5.0;
        let mut a = Sim::new(&s);
        let mut b = Sim::new(&s);
        for _ in 0..30 * 7 {
            a.advance(1.0 / 30.0);
        }
        for _ in 0..240 * 7 {
            b.advance(1.0 / 240.0);
        }
        assert_eq!(a.slots(), b.slots());
        assert_eq!(a.allocator(), b.allocator());
        assert!(
            a.slots().iter().any(|s| s.id >= 8),
            "requests were replaced"
        );
    }

    #[test]
    fn pausing_freezes_and_resuming_continues() {
        let mut s = settings();
        s.cb = true;
        let mut sim = Sim::new(&s);
        sim.advance(3.0);
        let before = sim.scene();
        s.paused = true;
        sim.set_settings(&s);
        sim.advance(5.0);
        assert_eq!(sim.scene().lengths, before.lengths);
        s.paused = false;
        sim.set_settings(&s);
        sim.advance(1.0);
        let mut straight = Sim::new(&s);
        straight.advance(4.0);
        assert_eq!(sim.slots(), straight.slots());
    }

    #[test]
    fn hold_stops_at_the_end_of_the_sweep() {
        let mut s = settings();
        s.hold = true;
        let mut sim = Sim::new(&s);
        sim.advance(SWEEP_SECONDS * 3.0);
        assert_eq!(sim.sweeps, 0);
        assert_eq!(sim.scene().current_tokens(), 131_072);
        s.hold = false;
        sim.set_settings(&s);
        sim.advance(1.0);
        assert_eq!(sim.sweeps, 1, "released, it starts over");
    }

    #[test]
    fn static_batching_waits_for_the_longest() {
        let s = settings();
        let sc = Scene::at_end(&s);
        assert_eq!(sc.lengths[0], 131_072);
        // the others finished earlier and wait, holding their memory
        assert!(sc.done[1..].iter().all(|d| *d));
        assert!(sc.lengths[1..].iter().all(|&l| l < 131_072));
        assert_eq!(sc.ids, vec![0, 1, 2, 3]);
    }

    #[test]
    fn allocator_agrees_with_the_calculator() {
        let mut s = settings();
        s.cb = true;
        s.pa = true;
        s.batch = 6;
        let mut sim = Sim::new(&s);
        for _ in 0..40 {
            sim.advance(0.37);
            let sc = sim.scene();
            let a = sim.allocator().unwrap();
            a.check().unwrap();
            let held: u64 = sim
                .slots()
                .iter()
                .map(|sl| a.table(sl.id).len() as u64)
                .sum();
            assert_eq!(sc.overflow_blocks, 0);
            // every block is 16 tokens of all layers (of one of the board's shards): the
            // calculator's paged bytes exactly
            assert_eq!(sc.block_pages, 1);
            assert_eq!(
                held as u128 * sc.page_bytes * sc.shards as u128,
                sc.report.allocated_bytes.paged
            );
            // fragmentation: at most 15 token slots per live sequence
            for sl in sim.slots() {
                let slots = a.table(sl.id).len() as u64 * 16;
                assert!(
                    slots >= sl.len && slots - sl.len <= 15,
                    "{} for {}",
                    slots,
                    sl.len
                );
            }
        }
    }
}
