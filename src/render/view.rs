//! Frame orchestration shared by the window and the headless renderer: from a `Scene` and a target
//! size to uploads, doing only the work whose inputs changed (layout, memory map, shapes, text).

use super::banks::{self, BankInstance};
use super::shapes::{self, ShapeState};
use super::{FrameValues, Renderer};
use crate::layout::memory::{self, MemoryMap};
use crate::layout::panels::{self, PanelText};
use crate::layout::Layout;
use crate::sim::Scene;

/// The target's size in physical pixels and its scale factor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TargetSize {
    pub width: u32,
    pub height: u32,
    pub scale: f32,
}

/// What changed in the last `prepare`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrepareStats {
    pub layout_rebuilt: bool,
    pub map_rebuilt: bool,
    /// Banks whose state changed (to redraw into the static layer).
    pub states_written: usize,
    pub shapes_rebuilt: bool,
    pub texts_reshaped: usize,
}

/// Long-lived per-target state: the last layout, memory map and texts.
pub struct View {
    pub layout: Option<Layout>,
    pub map: MemoryMap,
    pub texts: Vec<PanelText>,
    size: (u32, u32, u32),
    gpu_id: String,
    /// The scene inputs the map was built from.
    map_key: Option<MapKey>,
    shape_state: Option<ShapeState>,
    instances: Vec<BankInstance>,
    instance_banks: u32,
    ghost_run: Option<std::ops::Range<u32>>,
    ghost_bucket: i64,
    fresh_runs: Vec<std::ops::Range<u32>>,
    last_time: f32,
    text_key: Option<String>,
    last_text_time: f32,
    force_text: bool,
}

/// The first..last range of banks of `kind` (ghosts are contiguous).
fn run_of(states: &[u32], kind: u32) -> Option<std::ops::Range<u32>> {
    let first = states.iter().position(|s| memory::kind_of(*s) == kind)?;
    let last = states.iter().rposition(|s| memory::kind_of(*s) == kind)?;
    Some(first as u32..last as u32 + 1)
}

/// What the dynamic panels' texts depend on besides the tokens: when it changes they update at once.
fn text_key(scene: &Scene) -> String {
    let s = &scene.settings;
    format!(
        "{} {} {} {} {:?} {:?} {} {} {} {} {:?} {} {} {} {} {} {} {:?} {:?} {}",
        s.model.id,
        s.gpu.id,
        s.context,
        s.batch,
        s.kv(),
        s.weights(),
        s.cb,
        s.pa,
        s.fa,
        s.skip_weights,
        s.gpu_util,
        s.speed,
        s.paused,
        s.hold,
        s.block_tokens,
        s.seed,
        scene.shards,
        s.engine,
        s.tp,
        s.pp
    )
}

/// Physical-pixel rectangles of the static layer to copy into each frame: panels, packages, die
/// (the whole board for a wafer, whose circle shows between the tiles).
pub fn static_rects(l: &Layout) -> Vec<[u32; 4]> {
    let mut rects: Vec<crate::layout::Rect> = l.panels.iter().map(|p| p.rect).collect();
    if l.wafer {
        rects.push(l.board);
    } else {
        rects.extend(l.modules.iter().map(|m| m.rect));
        rects.push(l.die);
    }
    physical(l, &rects)
}

/// Logical rectangles to physical pixels (x, y, w, h), covering every touched pixel.
fn physical(l: &Layout, rects: &[crate::layout::Rect]) -> Vec<[u32; 4]> {
    let s = l.scale;
    rects
        .iter()
        .map(|r| {
            let x0 = (r.x * s).floor().max(0.0) as u32;
            let y0 = (r.y * s).floor().max(0.0) as u32;
            let x1 = (r.right() * s).ceil().max(0.0) as u32;
            let y1 = (r.bottom() * s).ceil().max(0.0) as u32;
            [x0, y0, x1.saturating_sub(x0), y1.saturating_sub(y0)]
        })
        .collect()
}

#[derive(Clone, Debug, PartialEq)]
struct MapKey {
    version: u64,
    lengths: Vec<u64>,
    model: String,
    gpu: String,
    flags: (bool, bool, bool, bool),
    kv: crate::calc::Dtype,
    weights: crate::calc::WeightFormat,
    context: u64,
    util: Option<u64>,
    fresh: bool,
    capacity: u32,
}

impl Default for View {
    fn default() -> Self {
        View::new()
    }
}

impl View {
    pub fn new() -> View {
        View {
            layout: None,
            map: MemoryMap::default(),
            texts: Vec::new(),
            size: (0, 0, 0),
            gpu_id: String::new(),
            map_key: None,
            shape_state: None,
            instances: Vec::new(),
            instance_banks: u32::MAX,
            ghost_run: None,
            ghost_bucket: i64::MIN,
            fresh_runs: Vec::new(),
            last_time: f32::NAN,
            text_key: None,
            last_text_time: f32::NEG_INFINITY,
            force_text: false,
        }
    }

    /// The next `prepare` brings every panel's text up to date (e.g. before a screenshot).
    pub fn force_text_update(&mut self) {
        self.force_text = true;
        self.map_key = None;
    }

    /// Updates everything a frame needs and uploads what changed. `width`/`height` in physical px.
    pub fn prepare(
        &mut self,
        r: &mut Renderer,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        scene: &Scene,
        target: TargetSize,
        time: f32,
    ) -> PrepareStats {
        let TargetSize {
            width,
            height,
            scale,
        } = target;
        let mut st = PrepareStats::default();
        let s = &scene.settings;
        let size = (width, height, scale.to_bits());
        if self.layout.is_none() || self.size != size || self.gpu_id != s.gpu.id {
            self.layout = Some(Layout::compute(width, height, scale, &s.gpu));
            self.size = size;
            self.gpu_id = s.gpu.id.clone();
            self.map_key = None;
            self.shape_state = None;
            st.layout_rebuilt = true;
        }
        let Some(layout) = self.layout.as_ref() else {
            return st;
        };
        let capacity = layout.bank_capacity();
        let key = MapKey {
            version: scene.version,
            lengths: scene.lengths.clone(),
            model: s.model.id.clone(),
            gpu: s.gpu.id.clone(),
            flags: (s.cb, s.pa, s.fa, s.skip_weights),
            kv: s.kv(),
            weights: s.weights(),
            context: s.context,
            util: s.gpu_util.map(f64::to_bits),
            fresh: scene.progress < 1.0,
            capacity,
        };
        if self.map_key.as_ref() != Some(&key) {
            self.map.rebuild(scene, capacity);
            self.map_key = Some(key);
            st.map_rebuilt = true;
        }
        // The panels follow every change of state: memory (above), and what the settings alone
        // change (pause, speed, hold), which leave memory as it was.
        let text_key = text_key(scene);
        let settings_changed = self.text_key.as_ref() != Some(&text_key);
        let texts_due = st.map_rebuilt || st.layout_rebuilt || settings_changed;
        if texts_due {
            self.texts = panels::texts(scene, &self.map, layout);
        }
        if st.layout_rebuilt || self.instance_banks != self.map.banks {
            banks::instances(layout, self.map.banks, &mut self.instances);
            r.banks.set_instances(
                device,
                &self.instances,
                layout.bank_pitch,
                layout.bank_size,
                layout.scale,
            );
            self.instance_banks = self.map.banks;
            r.invalidate_static();
            r.set_static_rects(static_rects(layout), width, height);
        }
        if st.map_rebuilt || st.layout_rebuilt {
            let runs = r.banks.update_states(queue, &self.map.states);
            st.states_written = runs.iter().map(|r| r.len()).sum();
            r.queue_runs(&runs);
        }
        // Animated banks in the static layer: pulsing newest banks every frame, ghost stripes at
        // 8 Hz (their drift is slow; redrawing thousands of ghosts every frame is what the layer avoids).
        if r.is_cached() {
            let bucket = (time * 8.0) as i64;
            if bucket != self.ghost_bucket {
                self.ghost_bucket = bucket;
                if let Some(g) = &self.ghost_run {
                    r.queue_runs(std::slice::from_ref(g));
                }
            }
            r.queue_urgent(&self.fresh_runs);
        }
        if st.map_rebuilt {
            self.ghost_run = run_of(&self.map.states, memory::GHOST);
            self.fresh_runs = self
                .map
                .states
                .iter()
                .enumerate()
                .filter(|(_, s)| **s & memory::FRESH != 0)
                .map(|(i, _)| i as u32..i as u32 + 1)
                .collect();
        }
        let ss = ShapeState {
            overflow: scene.report.beyond_one_gpu_bytes > 0,
            over_budget: scene.report.gpus_needed > 1,
            gpus_needed: scene.report.per_gpu.gpus,
            flash: s.fa,
            flash_tile: s.gpu.flash_tile,
            apocalypse: panels::apocalypse(scene),
        };
        if self.shape_state != Some(ss) {
            r.shapes.upload(device, &shapes::build(layout, &ss));
            self.shape_state = Some(ss);
            st.shapes_rebuilt = true;
            r.invalidate_static();
        }
        if texts_due {
            // Panels that rarely change go into the static layer; the others are reshaped at most
            // 10 times a second of animation (numbers changing faster cannot be read), at once when
            // a setting or the layout changed.
            let (dynamic, fixed): (Vec<PanelText>, Vec<PanelText>) = self
                .texts
                .iter()
                .cloned()
                .partition(|t| super::text::is_dynamic(t.kind));
            r.text_static
                .prepare(device, queue, width, height, layout, &fixed);
            st.texts_reshaped = r.text_static.reshaped;
            if r.text_static.reshaped > 0 {
                r.invalidate_static();
            }
            let due = st.layout_rebuilt
                || self.force_text
                || settings_changed
                || !(time - self.last_text_time < 0.1 && time >= self.last_text_time);
            if due {
                self.text_key = Some(text_key);
                self.last_text_time = time;
                self.force_text = false;
                r.text
                    .prepare(device, queue, width, height, layout, &dynamic);
                st.texts_reshaped += r.text.reshaped;
                if !r.text.changed.is_empty() {
                    // Only the panels whose text changed are redrawn.
                    let rects: Vec<crate::layout::Rect> = r
                        .text
                        .changed
                        .iter()
                        .filter_map(|k| layout.panel(*k).map(|p| p.rect))
                        .collect();
                    r.queue_panels(&physical(layout, &rects));
                }
            }
        }
        // Particles: the share of memory each decode step reads sets how many fly; speed sets how fast.
        let dt = if self.last_time.is_finite() {
            (time - self.last_time).max(0.0)
        } else {
            0.0
        };
        self.last_time = time;
        let mem = s.gpu.memory_bytes.max(1) as f64;
        let read = scene.report.decode.bytes_per_step_per_gpu as f64 / mem;
        let ludicrous = s.speed >= 100.0;
        let emit = (0.08 + 0.92 * read.min(1.0)) as f32 * if ludicrous { 1.6 } else { 1.0 };
        let travel = (1.4 / s.speed.max(0.5).powf(0.35)) as f32;
        r.particles
            .set_params(queue, layout, emit, dt, travel, s.speed >= 100.0);
        r.write_globals(
            queue,
            layout,
            &FrameValues {
                time,
                progress: scene.progress as f32,
                pressure: scene.report.memory_fraction.clamp(0.0, 1.0) as f32,
                flash: s.fa,
            },
        );
        st
    }
}
