//! The memory scene's view: from the simulation's state, a target size and the animation time to
//! the frame data the renderer draws, redoing only the work whose inputs changed (layout, memory
//! map, bank grids, shapes, text) and revising only what it redid.

use super::banks;
use super::layout::{Layout, PanelKind, Rect, BODY, LINE};
use super::map::{self, MemoryMap};
use super::panels::{self, PanelText};
use super::shapes::{self, ShapeState};
use crate::frame::{
    self, contract::PALETTE_SLOTS, BankGrid, Banks, FrameData, Mesh, Particles, PxRect, Target,
    TextBlock, Texts, Uniforms,
};
use crate::sim::Scene;
use crate::ui::palette;
use glam::Vec2;
use std::ops::Range;

/// What changed in the last `update`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UpdateStats {
    pub layout_rebuilt: bool,
    pub map_rebuilt: bool,
    pub shapes_rebuilt: bool,
    /// The settled text changed; the live text was rebuilt.
    pub settled_text: bool,
    pub live_text: bool,
}

/// The revisions of the frame's parts (see `frame::next_revision`).
#[derive(Clone, Copy, Debug, Default)]
struct Revisions {
    geometry: u64,
    states: u64,
    shapes: u64,
    settled: u64,
    live: u64,
}

/// The scene inputs a memory map was built from.
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

impl MapKey {
    fn of(scene: &Scene, capacity: u32) -> MapKey {
        let s = &scene.settings;
        MapKey {
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
        }
    }
}

/// The particle stream's scalars (its sources are kept apart, to lend them).
#[derive(Clone, Copy, Debug, Default)]
struct Stream {
    die: [f32; 4],
    emit: f32,
    dt: f32,
    travel: f32,
    streak: bool,
}

/// Long-lived per-target state: the last layout, memory map and texts, and the frame data made
/// from them.
pub struct View {
    pub layout: Option<Layout>,
    pub map: MemoryMap,
    pub texts: Vec<PanelText>,
    size: (u32, u32, u32),
    gpu_id: String,
    map_key: Option<MapKey>,
    shape_state: Option<ShapeState>,
    grids: Vec<BankGrid>,
    /// Banks the grids were made for.
    grid_banks: u32,
    static_rects: Vec<PxRect>,
    mesh: Mesh,
    /// Ghost banks (contiguous) and the newest bank of each growing sequence, as of the last map.
    ghost_run: Option<Range<u32>>,
    ghost_bucket: i64,
    fresh_runs: Vec<Range<u32>>,
    /// Banks to redraw this frame because their look moves with time.
    redraw: Vec<Range<u32>>,
    redraw_urgent: Vec<Range<u32>>,
    settled: Vec<TextBlock>,
    live: Vec<TextBlock>,
    sources: Vec<[f32; 4]>,
    stream: Stream,
    palette: [[f32; 4]; PALETTE_SLOTS],
    background: [f32; 3],
    target: Target,
    uniforms: Uniforms,
    rev: Revisions,
    last_time: f32,
    text_key: Option<String>,
    last_text_time: f32,
    force_text: bool,
}

/// The first..last range of banks of `kind` (ghosts are contiguous).
fn run_of(states: &[u32], kind: u32) -> Option<Range<u32>> {
    let first = states.iter().position(|s| map::kind_of(*s) == kind)?;
    let last = states.iter().rposition(|s| map::kind_of(*s) == kind)?;
    Some(first as u32..last as u32 + 1)
}

/// What the live panels' texts depend on besides the tokens: when it changes they update at once.
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

/// Panels whose text changes while tokens grow (live text); the rest is settled text, which the
/// renderer may cache and redraws only when it changes.
pub fn is_live(kind: PanelKind) -> bool {
    matches!(
        kind,
        PanelKind::Info
            | PanelKind::Formula
            | PanelKind::Warning
            | PanelKind::Banner
            | PanelKind::Factoids
    )
}

/// Physical-pixel rectangles that change rarely: panels, packages, die (the whole board for a
/// wafer, whose circle shows between the tiles).
pub fn static_rects(l: &Layout) -> Vec<PxRect> {
    let mut rects: Vec<super::layout::Rect> = l.panels.iter().map(|p| p.rect).collect();
    if l.wafer {
        rects.push(l.board);
    } else {
        rects.extend(l.modules.iter().map(|m| m.rect));
        rects.push(l.die);
    }
    rects.iter().map(|r| r.to_px(l.scale)).collect()
}

/// A panel's text as a block in its panel, physical px (None when the layout has no such panel).
pub fn text_block(l: &Layout, t: &PanelText) -> Option<TextBlock> {
    let r = l.panel(t.kind)?.rect;
    let (s, ui) = (l.scale, l.ui);
    let pad = 12.0 * ui;
    // The warning panel keeps its last two lines for the mini-GPU row.
    let bottom = if t.kind == PanelKind::Warning {
        r.bottom() - pad - 2.0 * LINE * ui
    } else {
        r.bottom() - pad * 0.5
    };
    let bounds = [
        (r.x + pad) * s,
        (r.y + pad) * s,
        (r.right() - pad) * s,
        bottom * s,
    ];
    Some(TextBlock {
        id: t.kind as u32,
        origin: Vec2::new(bounds[0], bounds[1]),
        bounds,
        size: Vec2::new((r.w - 2.0 * pad).max(1.0) * s, (r.h * s).max(1.0)),
        font_size: BODY * ui * s,
        line_height: LINE * ui * s,
        tab_width: if t.kind == PanelKind::Controls {
            11
        } else {
            18
        },
        centered: t.centered,
        spans: t.spans.clone(),
        redraw: r.to_px(s),
    })
}

/// Ghost slices redrawn per second of animation, in turn; with the fewest slices each is redrawn
/// 8 times a second, with the most once.
const GHOST_TURNS: f32 = 64.0;
const GHOST_SLICES_MIN: u32 = 8;
const GHOST_SLICES_MAX: u32 = 64;
/// Banks a ghost slice holds at most, while there are slices to spare.
const GHOST_SLICE_BANKS: u32 = 1_250;

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
            grids: Vec::new(),
            grid_banks: u32::MAX,
            static_rects: Vec::new(),
            mesh: Mesh::default(),
            ghost_run: None,
            ghost_bucket: i64::MIN,
            fresh_runs: Vec::new(),
            redraw: Vec::new(),
            redraw_urgent: Vec::new(),
            settled: Vec::new(),
            live: Vec::new(),
            sources: Vec::new(),
            stream: Stream::default(),
            palette: palette::slots(),
            background: palette::background(),
            target: Target {
                width: 0,
                height: 0,
                scale: 1.0,
            },
            uniforms: Uniforms {
                screen: Vec2::ONE,
                time: 0.0,
                scale: 1.0,
                dot: Vec2::ZERO,
                bank_size: 1.0,
                bank_pitch: 1.0,
                pressure: 0.0,
                flash: false,
                progress: 0.0,
            },
            rev: Revisions::default(),
            last_time: f32::NAN,
            text_key: None,
            last_text_time: f32::NEG_INFINITY,
            force_text: false,
        }
    }

    /// Bytes its collections hold (their capacity; text by its spans' strings), to check that
    /// nothing grows as it runs.
    pub fn footprint(&self) -> usize {
        use std::mem::size_of;
        let spans = |v: &[TextBlock]| -> usize {
            v.iter()
                .map(|b| {
                    b.spans.capacity() * size_of::<crate::frame::Span>()
                        + b.spans.iter().map(|s| s.text.capacity()).sum::<usize>()
                })
                .sum()
        };
        self.map.states.capacity() * 4
            + self.map.seq_banks.capacity() * 4
            + self.texts.capacity() * size_of::<PanelText>()
            + self.grids.capacity() * size_of::<BankGrid>()
            + self.static_rects.capacity() * size_of::<PxRect>()
            + self.mesh.vertices.capacity() * size_of::<crate::frame::ShapeVertex>()
            + self.mesh.indices.capacity() * 4
            + (self.fresh_runs.capacity() + self.redraw.capacity() + self.redraw_urgent.capacity())
                * size_of::<Range<u32>>()
            + (self.settled.capacity() + self.live.capacity()) * size_of::<TextBlock>()
            + spans(&self.settled)
            + spans(&self.live)
            + self.sources.capacity() * 16
    }

    /// The next `update` brings every panel's text up to date (e.g. before a screenshot).
    pub fn force_text_update(&mut self) {
        self.force_text = true;
        self.map_key = None;
    }

    /// Brings the frame data up to date for `scene` on `target` at `time` seconds of animation.
    pub fn update(&mut self, scene: &Scene, target: Target, time: f32) -> UpdateStats {
        let mut st = UpdateStats::default();
        self.update_layout(scene, target, &mut st);
        let Some(layout) = self.layout.as_ref() else {
            return st;
        };
        let capacity = layout.bank_capacity();
        let key = MapKey::of(scene, capacity);
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
        self.update_banks(&st, time);
        self.update_shapes(scene, &mut st);
        if texts_due {
            // Settled text at once; live text at most 10 times a second of animation (numbers
            // changing faster cannot be read), at once when a setting or the layout changed.
            let due = st.layout_rebuilt
                || self.force_text
                || settings_changed
                || !(time - self.last_text_time < 0.1 && time >= self.last_text_time);
            if due {
                self.text_key = Some(text_key);
                self.last_text_time = time;
                self.force_text = false;
            }
            self.update_texts(due, &mut st);
        }
        self.update_stream(scene, time);
        st
    }

    /// A new layout when the target or the GPU changed.
    fn update_layout(&mut self, scene: &Scene, target: Target, st: &mut UpdateStats) {
        let s = &scene.settings;
        let size = (target.width, target.height, target.scale.to_bits());
        if self.layout.is_none() || self.size != size || self.gpu_id != s.gpu.id {
            self.layout = Some(Layout::compute(
                target.width,
                target.height,
                target.scale,
                &s.gpu,
            ));
            self.size = size;
            self.gpu_id = s.gpu.id.clone();
            self.map_key = None;
            self.shape_state = None;
            self.target = Target {
                width: target.width,
                height: target.height,
                scale: self.layout.as_ref().map_or(1.0, |l| l.scale),
            };
            st.layout_rebuilt = true;
        }
    }

    /// Grids when the layout or the bank count changed, states when memory did, and the banks
    /// whose look moves with time: pulsing newest banks every frame, ghost stripes at 8 Hz (their
    /// drift is slow; redrawing thousands of ghosts every frame is what a cached layer avoids), in
    /// slices taking turns `GHOST_TURNS` times a second, so each frame redraws a like share of them
    /// rather than all of them every eighth of a second. A slice holds at most about
    /// `GHOST_SLICE_BANKS` banks: where ghosts fill most of memory (the 100M apocalypse) there are
    /// more slices, up to `GHOST_SLICES_MAX`, and each steps less often (down to once a second), so
    /// a memory full of ghosts costs a frame no more than one a fifth full of them.
    fn update_banks(&mut self, st: &UpdateStats, time: f32) {
        let Some(layout) = self.layout.as_ref() else {
            return;
        };
        if st.layout_rebuilt || self.grid_banks != self.map.banks {
            banks::grids_for(layout, self.map.banks, &mut self.grids);
            self.grid_banks = self.map.banks;
            self.static_rects = static_rects(layout);
            self.rev.geometry = frame::next_revision();
        }
        if st.map_rebuilt || st.layout_rebuilt {
            self.rev.states = frame::next_revision();
        }
        self.redraw.clear();
        let slices = self.ghost_run.as_ref().map_or(GHOST_SLICES_MIN, |r| {
            (r.len() as u32)
                .div_ceil(GHOST_SLICE_BANKS)
                .clamp(GHOST_SLICES_MIN, GHOST_SLICES_MAX)
        });
        let bucket = (time * GHOST_TURNS) as i64;
        if bucket != self.ghost_bucket {
            let first = if bucket > self.ghost_bucket && self.ghost_bucket != i64::MIN {
                self.ghost_bucket + 1
            } else {
                bucket
            };
            self.ghost_bucket = bucket;
            if let Some(run) = self.ghost_run.clone() {
                // The slices whose turn came since the last frame (all of them after a jump).
                let n = (bucket - first + 1).clamp(1, slices as i64);
                for b in bucket + 1 - n..=bucket {
                    let k = b.rem_euclid(slices as i64) as u64;
                    let len = (run.end - run.start) as u64;
                    let a = run.start + (len * k / slices as u64) as u32;
                    let z = run.start + (len * (k + 1) / slices as u64) as u32;
                    if z > a {
                        self.redraw.push(a..z);
                    }
                }
            }
        }
        self.redraw_urgent.clone_from(&self.fresh_runs);
        if st.map_rebuilt {
            self.ghost_run = run_of(&self.map.states, map::GHOST);
            self.fresh_runs.clear();
            self.fresh_runs.extend(
                self.map
                    .states
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| **s & map::FRESH != 0)
                    .map(|(i, _)| i as u32..i as u32 + 1),
            );
        }
    }

    fn update_shapes(&mut self, scene: &Scene, st: &mut UpdateStats) {
        let Some(layout) = self.layout.as_ref() else {
            return;
        };
        let r = &scene.report;
        let ss = ShapeState {
            overflow: r.beyond_one_gpu_bytes > 0,
            over_budget: r.gpus_needed > 1,
            gpus_needed: r.per_gpu.gpus,
            flash: scene.settings.fa,
            flash_tile: scene.settings.gpu.flash_tile,
            apocalypse: panels::apocalypse(scene),
        };
        if self.shape_state != Some(ss) {
            self.mesh = shapes::build(layout, &ss);
            self.shape_state = Some(ss);
            self.rev.shapes = frame::next_revision();
            st.shapes_rebuilt = true;
        }
    }

    /// The panels' texts as blocks: the settled ones, and the live ones when `live` is due.
    fn update_texts(&mut self, live: bool, st: &mut UpdateStats) {
        let Some(layout) = self.layout.as_ref() else {
            return;
        };
        let blocks = |want_live: bool| -> Vec<TextBlock> {
            self.texts
                .iter()
                .filter(|t| is_live(t.kind) == want_live)
                .filter_map(|t| text_block(layout, t))
                .collect()
        };
        // Settled text rarely changes: the renderer hears of it only when it did.
        let settled = blocks(false);
        if settled != self.settled {
            self.settled = settled;
            self.rev.settled = frame::next_revision();
            st.settled_text = true;
        }
        if live {
            self.live = blocks(true);
            self.rev.live = frame::next_revision();
            st.live_text = true;
        }
    }

    /// Particles: the share of memory each decode step reads sets how many fly; speed sets how
    /// fast. Then the uniforms.
    fn update_stream(&mut self, scene: &Scene, time: f32) {
        let Some(layout) = self.layout.as_ref() else {
            return;
        };
        let s = &scene.settings;
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
        self.sources.clear();
        self.sources.extend(
            layout
                .modules
                .iter()
                .filter(|m| m.active)
                .map(|m| port(&m.rect, &layout.die).to_array()),
        );
        self.stream = Stream {
            die: layout.die.to_array(),
            emit,
            dt,
            travel: (1.4 / s.speed.max(0.5).powf(0.35)) as f32,
            streak: ludicrous,
        };
        let progress = scene.progress as f32;
        self.uniforms = Uniforms {
            screen: Vec2::new(layout.width, layout.height),
            time,
            scale: layout.scale,
            dot: shapes::dot_position(layout, progress as f64),
            bank_size: layout.bank_size,
            bank_pitch: layout.bank_pitch,
            pressure: scene.report.memory_fraction.clamp(0.0, 1.0) as f32,
            flash: s.fa,
            progress,
        };
    }

    /// This frame's data, lent from the view.
    pub fn frame(&self) -> FrameData<'_> {
        FrameData {
            target: self.target,
            uniforms: self.uniforms,
            palette: &self.palette,
            background: self.background,
            banks: Banks {
                geometry_revision: self.rev.geometry,
                grids: &self.grids,
                pitch: self.uniforms.bank_pitch,
                size: self.uniforms.bank_size,
                states_revision: self.rev.states,
                states: &self.map.states,
                redraw: &self.redraw,
                redraw_urgent: &self.redraw_urgent,
            },
            shapes: &self.mesh,
            shapes_revision: self.rev.shapes,
            texts: Texts {
                settled: &self.settled,
                settled_revision: self.rev.settled,
                live: &self.live,
                live_revision: self.rev.live,
            },
            static_rects: &self.static_rects,
            particles: Particles {
                die: self.stream.die,
                sources: &self.sources,
                emit: self.stream.emit,
                dt: self.stream.dt,
                travel: self.stream.travel,
                streak: self.stream.streak,
            },
        }
    }
}

/// Where a memory package's traffic leaves it for the die: a thin strip along the middle of its
/// side facing the die (particles travel from there across the gap, not over the banks).
pub fn port(package: &Rect, die: &Rect) -> Rect {
    const DEPTH: f32 = 2.0;
    let c = package.center();
    let (x0, x1) = (package.x + 0.2 * package.w, 0.6 * package.w);
    let (y0, y1) = (package.y + 0.2 * package.h, 0.6 * package.h);
    if package.right() <= die.x {
        Rect::new(package.right() - DEPTH, y0, DEPTH, y1)
    } else if package.x >= die.right() {
        Rect::new(package.x, y0, DEPTH, y1)
    } else if package.bottom() <= die.y {
        Rect::new(x0, package.bottom() - DEPTH, x1, DEPTH)
    } else if package.y >= die.bottom() {
        Rect::new(x0, package.y, x1, DEPTH)
    } else {
        // Overlapping the die (a layout too small to separate them): its centre.
        Rect::new(c.x - DEPTH / 2.0, c.y - DEPTH / 2.0, DEPTH, DEPTH)
    }
}
