//! `kvscope bench`: the venue check. Plays each state of the frame-rate matrix for a few seconds,
//! in the real window (or headless), drawing as fast as it can, and reports per state the median
//! and 95th percentile of the time between frames, where that time went (simulation, frame
//! preparation, GPU and present), what was drawn, and whether the state keeps up with the
//! display's refresh rate.

use super::stats::Samples;
use crate::sim::Settings;
use serde::Serialize;
use std::fmt::Write;

/// One state of the matrix: a name and the settings it plays.
#[derive(Clone, Debug)]
pub struct BenchState {
    pub key: &'static str,
    pub label: &'static str,
    pub settings: Settings,
}

/// Frames at the start of each state left out of its numbers (the layout is built and every bank
/// drawn once then).
pub const WARMUP_FRAMES: u64 = 10;
/// Frames measured in each state at least, however long they take.
pub const MIN_FRAMES: u64 = 20;

/// The matrix, on `base`'s model and GPU: the cells the browser comparison measures (a-e) and the
/// 100M-token apocalypse (f). Every state names the techniques it has on; the others are off.
pub fn states(base: &Settings) -> Vec<BenchState> {
    let state = |key, label, cb, pa, fa, batch, context, speed| {
        let mut s = base.clone();
        s.cb = cb;
        s.pa = pa;
        s.fa = fa;
        s.batch = batch;
        s.context = context;
        s.speed = speed;
        s.paused = false;
        s.hold = false;
        BenchState {
            key,
            label,
            settings: s,
        }
    };
    vec![
        state("a", "CB+PA+FA b4 1x", true, true, true, 4, 131_072, 1.0),
        state("b", "CB+FA b32 100x", true, false, true, 32, 131_072, 100.0),
        state("c", "CB+PA b32 100x", true, true, false, 32, 131_072, 100.0),
        state(
            "d",
            "static b128 100x",
            false,
            false,
            false,
            128,
            131_072,
            100.0,
        ),
        state(
            "e",
            "b1 1M FA 100x",
            false,
            false,
            true,
            1,
            1_000_000,
            100.0,
        ),
        // Cell a's techniques and speed with the apocalypse's context: it must play as fast.
        state(
            "f",
            "b1 100M CB+PA+FA 1x",
            true,
            true,
            true,
            1,
            100_000_000,
            1.0,
        ),
    ]
}

/// One state's numbers.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct BenchRow {
    pub key: String,
    pub state: String,
    /// Frames measured (after the warm-up).
    pub frames: u64,
    pub median_ms: f64,
    pub p95_ms: f64,
    pub fps: f64,
    /// Medians per frame: stepping the simulation, preparing the frame (scene view and uploads),
    /// recording, rendering and presenting it (waiting for the GPU included).
    pub sim_ms: f64,
    pub prepare_ms: f64,
    pub gpu_present_ms: f64,
    pub banks: u64,
    /// Particles in the pool.
    pub particles: u32,
    /// Slower than the display refreshes.
    pub below_refresh: bool,
}

/// A whole bench run.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    pub adapter: String,
    /// "window" or "headless".
    pub mode: String,
    pub width: u32,
    pub height: u32,
    pub refresh_hz: f64,
    pub seconds_per_state: f64,
    pub rows: Vec<BenchRow>,
}

/// A state being measured: the time between frames and its split, bounded.
#[derive(Clone, Debug)]
pub struct Meter {
    pub gaps: Samples,
    pub sim: Samples,
    pub prepare: Samples,
    pub draw: Samples,
    /// Frames seen in this state (warm-up included).
    pub frames: u64,
}

impl Default for Meter {
    fn default() -> Meter {
        let n = super::stats::KEPT;
        Meter {
            gaps: Samples::new(n),
            sim: Samples::new(n),
            prepare: Samples::new(n),
            draw: Samples::new(n),
            frames: 0,
        }
    }
}

impl Meter {
    /// One frame: the gap since the last one and its split, all ms. The warm-up is left out.
    pub fn frame(&mut self, gap: Option<f64>, sim: f64, prepare: f64, draw: f64) {
        self.frames += 1;
        if self.frames <= WARMUP_FRAMES {
            return;
        }
        if let Some(g) = gap {
            self.gaps.push(g);
        }
        self.sim.push(sim);
        self.prepare.push(prepare);
        self.draw.push(draw);
    }

    /// The state has played `elapsed` of its `seconds` seconds and measured enough frames.
    pub fn done(&self, elapsed: f64, seconds: f64) -> bool {
        elapsed >= seconds && self.gaps.count() >= MIN_FRAMES
    }

    pub fn reset(&mut self) {
        for s in [
            &mut self.gaps,
            &mut self.sim,
            &mut self.prepare,
            &mut self.draw,
        ] {
            s.clear();
        }
        self.frames = 0;
    }

    /// The state's row.
    pub fn row(&self, s: &BenchState, banks: u64, particles: u32, refresh_hz: f64) -> BenchRow {
        let median = self.gaps.median().unwrap_or(f64::NAN);
        let fps = 1000.0 / median;
        BenchRow {
            key: s.key.to_string(),
            state: s.label.to_string(),
            frames: self.gaps.count(),
            median_ms: median,
            p95_ms: self.gaps.p95().unwrap_or(f64::NAN),
            fps,
            sim_ms: self.sim.median().unwrap_or(f64::NAN),
            prepare_ms: self.prepare.median().unwrap_or(f64::NAN),
            gpu_present_ms: self.draw.median().unwrap_or(f64::NAN),
            banks,
            particles,
            below_refresh: fps.is_nan() || fps < refresh_hz,
        }
    }
}

/// The report as a table.
pub fn table(r: &BenchReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "kvscope bench: {}x{} {} on {}, {:.0} s per state, display {:.0} Hz",
        r.width, r.height, r.mode, r.adapter, r.seconds_per_state, r.refresh_hz
    );
    let _ = writeln!(
        out,
        "{:<2} {:<22} {:>7} {:>9} {:>8} {:>7} {:>7} {:>8} {:>9} {:>7} {:>9}  refresh",
        "",
        "state",
        "frames",
        "median",
        "p95",
        "fps",
        "sim",
        "prepare",
        "gpu+pres",
        "banks",
        "particles",
    );
    for row in &r.rows {
        let _ = writeln!(
            out,
            "{:<2} {:<22} {:>7} {:>6.2} ms {:>5.2} ms {:>7.1} {:>7.2} {:>8.2} {:>9.2} {:>7} {:>9}  {}",
            row.key,
            row.state,
            row.frames,
            row.median_ms,
            row.p95_ms,
            row.fps,
            row.sim_ms,
            row.prepare_ms,
            row.gpu_present_ms,
            row.banks,
            row.particles,
            if row.below_refresh { "BELOW" } else { "ok" }
        );
    }
    let below: Vec<&str> = r
        .rows
        .iter()
        .filter(|x| x.below_refresh)
        .map(|x| x.key.as_str())
        .collect();
    if below.is_empty() {
        let _ = writeln!(out, "every state keeps up with the display");
    } else {
        let _ = writeln!(
            out,
            "below the display's refresh rate: {} (sim, prepare and gpu+pres are medians per frame, ms)",
            below.join(", ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_meter_leaves_the_warm_up_out_and_flags_slow_states() {
        let c = crate::catalog::Catalog::builtin().unwrap();
        let base = Settings::new(
            std::sync::Arc::new(c.model("llama-3.1-8b").unwrap().clone()),
            std::sync::Arc::new(c.gpu("h100").unwrap().clone()),
        );
        let all = states(&base);
        assert_eq!(all.len(), 6);
        // Cell d is static batching: no technique on.
        assert!(!all[3].settings.cb && !all[3].settings.pa && !all[3].settings.fa);
        assert_eq!(all[5].settings.context, 100_000_000);
        let mut m = Meter::default();
        m.frame(Some(1.0), 0.0, 0.0, 0.0);
        assert!(!m.done(9.0, 5.0), "a warm-up frame is not a measured one");
        m.reset();
        // Ten slow warm-up frames, then frames 20 ms apart (one slow one at 40 ms).
        for _ in 0..WARMUP_FRAMES {
            m.frame(Some(500.0), 1.0, 1.0, 1.0);
        }
        for i in 0..40 {
            m.frame(Some(if i == 7 { 40.0 } else { 20.0 }), 0.5, 2.0, 15.0);
        }
        // Played long enough, and more than the 20 frames a state measures at least.
        assert!(m.done(5.0, 5.0) && !m.done(4.9, 5.0));
        let row = m.row(&all[1], 91_023, 4_000, 60.0);
        assert_eq!(row.frames, 40);
        assert_eq!(row.median_ms, 20.0);
        assert_eq!(row.p95_ms, 20.0);
        assert_eq!(row.fps, 50.0);
        assert_eq!(row.gpu_present_ms, 15.0);
        assert!(row.below_refresh, "50 fps on a 60 Hz display");
        assert!(!m.row(&all[1], 0, 0, 50.0).below_refresh);
        let t = table(&BenchReport {
            adapter: "llvmpipe".into(),
            mode: "window".into(),
            width: 1920,
            height: 1080,
            refresh_hz: 60.0,
            seconds_per_state: 5.0,
            rows: vec![row],
        });
        assert!(t.contains("CB+FA b32 100x"), "{t}");
        assert!(t.contains(" 20.00 ms"), "{t}");
        assert!(t.contains("below the display's refresh rate: b"), "{t}");
    }
}
