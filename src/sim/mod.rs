//! The simulation: settings (what the user chose) plus time give a `Scene` (what memory holds now).
//! Pure and deterministic: no pixels, no wgpu. Rendering and layout read a `Scene`, never `Settings`.

use crate::calc::{self, Dtype, Model, Policy, Report, WeightFormat, Workload};
use crate::catalog::Gpu;
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
    pub gpu_util: f64,
    pub speed: f64,
    pub paused: bool,
    pub seed: u64,
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
            gpu_util: calc::DEFAULT_GPU_UTIL,
            speed: 1.0,
            paused: false,
            seed: 1,
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

    pub fn weights(&self) -> WeightFormat {
        match self.weight_dtype {
            Some(d) => WeightFormat::Uniform { dtype: d },
            None => self.model.weights,
        }
    }

    pub fn kv(&self) -> Dtype {
        self.kv_dtype
            .unwrap_or_else(|| self.model.weights.default_kv_dtype())
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

/// What memory holds at one moment.
#[derive(Clone, Debug)]
pub struct Scene {
    pub settings: Settings,
    /// Simulated seconds since the sweep started.
    pub time: f64,
    /// Fraction of the sweep done, 0..=1.
    pub progress: f64,
    /// Tokens each sequence holds now.
    pub lengths: Vec<u64>,
    /// The calculator's report for `lengths`.
    pub report: Report,
}

/// Final length of sequence `i` as a fraction of the context: 1 under static batching (every
/// sequence waits for the longest); under continuous batching, lengths differ (seeded).
pub fn length_fractions(s: &Settings) -> Vec<f64> {
    let mut rng = Rng::new(s.seed);
    (0..s.batch)
        .map(|i| {
            let r = rng.unit();
            if s.cb || s.pa {
                if i == 0 {
                    1.0
                } else {
                    0.3 + 0.7 * r
                }
            } else {
                1.0
            }
        })
        .collect()
}

impl Scene {
    /// The state after `time` simulated seconds of play (the sweep restarts when it ends).
    pub fn at(settings: &Settings, time: f64) -> Scene {
        let period = SWEEP_SECONDS;
        let t = time.max(0.0);
        let progress = if t >= period && t % period == 0.0 {
            1.0
        } else {
            (t % period) / period
        };
        Scene::at_progress(settings, t, progress)
    }

    /// The state at a fraction of the sweep (1.0: every sequence at its final length).
    pub fn at_progress(settings: &Settings, time: f64, progress: f64) -> Scene {
        let p = progress.clamp(0.0, 1.0);
        let lengths: Vec<u64> = length_fractions(settings)
            .iter()
            .map(|f| ((settings.context as f64 * f * p).round() as u64).min(settings.context))
            .collect();
        let mut w = Workload::uniform(&settings.model, settings.context, settings.batch);
        w.lengths = lengths.clone();
        w.kv_dtype = settings.kv();
        w.weights = settings.weights();
        w.skip_weights = settings.skip_weights;
        w.policy = settings.policy();
        w.gpu_util = settings.gpu_util;
        let report = calc::report(&settings.model, &settings.gpu.device(), &w);
        Scene {
            settings: settings.clone(),
            time,
            progress: p,
            lengths,
            report,
        }
    }

    /// Tokens of the longest sequence (where the attention dot sits).
    pub fn current_tokens(&self) -> u64 {
        self.lengths.iter().copied().max().unwrap_or(0)
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
        assert_eq!(Scene::at(&s, SWEEP_SECONDS).current_tokens(), 131_072);
        assert_eq!(Scene::at(&s, SWEEP_SECONDS * 1.25).current_tokens(), 32_768);
    }

    #[test]
    fn continuous_batches_have_different_lengths() {
        let mut s = settings();
        s.cb = true;
        let sc = Scene::at_progress(&s, 0.0, 1.0);
        assert_eq!(sc.lengths[0], 131_072);
        assert!(sc.lengths[1..].iter().all(|&l| l < 131_072 && l > 30_000));
        s.cb = false;
        let st = Scene::at_progress(&s, 0.0, 1.0);
        assert!(st.lengths.iter().all(|&l| l == 131_072));
    }
}
