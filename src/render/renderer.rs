//! The renderer: every pipeline for one target format. `prepare` takes a frame's `FrameData`,
//! uploads only the parts whose revisions moved and plans the frame (what of the static layer to
//! redraw); `render(&self)` records the plan, as glyphon and rerun's re_renderer split the two. A
//! plan that was never recorded (the window skipped the frame) is folded into the next one, so no
//! redraw is lost.

use super::banks::{coalesce, BanksPipeline};
use super::damage::Tiles;
use super::gpu::{Globals, GLOBALS_SIZE};
use super::offscreen::Offscreen;
use super::particles::ParticlesPipeline;
use super::shapes::ShapesPipeline;
use super::static_layer::{clip, copy_rects, gaps, DirtyRows};
use super::text::{TextLayer, TextShared};
use super::waves::{FillPipeline, WavesPipeline};
use crate::frame::{FrameData, PxRect};
use std::cell::Cell;
use std::ops::Range;

/// What the last `prepare` uploaded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrepareStats {
    /// The bank grids were uploaded again.
    pub grids_uploaded: bool,
    /// Runs of banks whose state was uploaded (`Renderer::state_runs` has them), and how many
    /// banks they hold.
    pub state_runs: usize,
    pub states_written: usize,
    pub shapes_uploaded: bool,
    /// Text blocks shaped again.
    pub texts_reshaped: usize,
}

/// The revisions of the frame parts on the GPU.
#[derive(Clone, Copy, Debug, Default)]
struct Seen {
    geometry: u64,
    states: u64,
    shapes: u64,
    settled: u64,
    live: u64,
}

/// What `render` records for the frame `prepare` planned.
#[derive(Debug, Default)]
struct Plan {
    /// Through the static layer (else every layer is drawn into the frame).
    cached: bool,
    /// Redraw the whole static layer.
    full: bool,
    /// Rows of banks to redraw into it, and regions to redraw whole (where shapes or lines of
    /// text changed).
    rows: Vec<Range<u32>>,
    regions: Vec<PxRect>,
    /// What of the frame differs from the last recorded frame, as rectangles that may overlap
    /// (when the frame keeps its pixels between frames, only these are brought up to date).
    damage: Vec<PxRect>,
    /// The plan was recorded.
    recorded: Cell<bool>,
}

/// What changes in the frame: where its moving parts (waves, the layer over the banks,
/// particles) draw this frame and drew in the last recorded one, and this frame's damage.
#[derive(Default)]
struct Damage {
    now: Tiles,
    prev: Tiles,
    /// The waves' footprint, and the tiles the gaps between static rectangles touch (waves
    /// show only there), for the geometry revision they were made for.
    waves: Tiles,
    gaps: Tiles,
    gaps_for: u64,
    /// The particles' paths, for the sources, die and scale they were marked for.
    paths: Tiles,
    paths_for: (Vec<[f32; 4]>, [f32; 4], f32),
    /// Paths of sources gone, kept while particles may still travel them (seconds left).
    old_paths: Tiles,
    old_left: f32,
    frame: Tiles,
}

/// Seconds a particle lives at most (`shaders/particles.wgsl`: 1.3 x its travel time, which is at
/// most 1.4 s / 0.5^0.35), rounded up.
const PARTICLE_LIFE_MAX: f32 = 2.5;

/// The static layer and what of it waits to be redrawn.
struct Cache {
    /// Draw through the static layer (the target must allow copies into it).
    on: bool,
    /// The static layer.
    layer: Option<Offscreen>,
    /// Everything must be redrawn.
    full: bool,
    /// Rows of banks to redraw.
    dirty: DirtyRows,
    /// At most this many physical pixels of bank rows are redrawn per frame; None: all of them.
    bank_px_budget: Option<u64>,
    /// Physical rectangles of the frame outside the static rectangles (background in the static
    /// layer too), copied instead of clearing the frame; with the frame size they are for.
    gap_rects: Vec<PxRect>,
    gaps_for: (u32, u32),
    /// Regions whose shapes or text changed, waiting to be redrawn into the static layer.
    dirty_regions: Vec<PxRect>,
    static_rects: Vec<PxRect>,
    /// Scratch: bounds of changed shapes, tiles and rectangles of regions to redraw.
    changed_bounds: Vec<[f32; 4]>,
    region_tiles: Tiles,
    region_rects: Vec<PxRect>,
}

/// All pipelines for one target format.
pub struct Renderer {
    format: wgpu::TextureFormat,
    globals_buf: wgpu::Buffer,
    globals_bind: wgpu::BindGroup,
    banks: BanksPipeline,
    shapes: ShapesPipeline,
    waves: WavesPipeline,
    fill: FillPipeline,
    particles: ParticlesPipeline,
    text_shared: TextShared,
    /// Text that rarely changes (drawn into the static layer when cached).
    text_settled: TextLayer,
    /// Text that changes while the scene plays.
    text_live: TextLayer,
    background: wgpu::Color,
    cache: Cache,
    seen: Seen,
    plan: Option<Plan>,
    damage: Damage,
    /// The runs of banks whose state the last upload wrote.
    runs: Vec<Range<u32>>,
    /// The last recorded plan's lists, reused by the next plan so planning does not allocate.
    spare_rows: Vec<Range<u32>>,
    spare_regions: Vec<PxRect>,
    spare_damage: Vec<PxRect>,
}

fn globals_layout(device: &wgpu::Device) -> wgpu::BindGroupLayout {
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("globals"),
        entries: &[wgpu::BindGroupLayoutEntry {
            binding: 0,
            visibility: wgpu::ShaderStages::VERTEX_FRAGMENT,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: false,
                min_binding_size: wgpu::BufferSize::new(GLOBALS_SIZE as u64),
            },
            count: None,
        }],
    })
}

fn pass<'a>(
    encoder: &'a mut wgpu::CommandEncoder,
    target: &'a wgpu::TextureView,
    load: wgpu::LoadOp<wgpu::Color>,
) -> wgpu::RenderPass<'a> {
    encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
        label: Some("frame"),
        color_attachments: &[Some(wgpu::RenderPassColorAttachment {
            view: target,
            depth_slice: None,
            resolve_target: None,
            ops: wgpu::Operations {
                load,
                store: wgpu::StoreOp::Store,
            },
        })],
        depth_stencil_attachment: None,
        timestamp_writes: None,
        occlusion_query_set: None,
        multiview_mask: None,
    })
}

impl Renderer {
    /// Pixels of bank rows a software adapter redraws per frame at most: about 3 ms of bank
    /// shading at 3840x2160 on 2 cores (a whole 4K bank area is about 2 million pixels).
    pub const SOFTWARE_BANK_BUDGET: u64 = 300_000;

    /// Pipelines for `format`, with a pool of `pool` particles (see `particles::pool_for`).
    pub fn new(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        format: wgpu::TextureFormat,
        pool: u32,
    ) -> Renderer {
        let layout = globals_layout(device);
        let globals_buf = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("globals"),
            size: GLOBALS_SIZE as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let globals_bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("globals"),
            layout: &layout,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: globals_buf.as_entire_binding(),
            }],
        });
        let text_shared = TextShared::new(device);
        Renderer {
            format,
            banks: BanksPipeline::new(device, format, &layout),
            shapes: ShapesPipeline::new(device, format, &layout),
            waves: WavesPipeline::new(device, format, &layout),
            fill: FillPipeline::new(device, format, &layout),
            particles: ParticlesPipeline::new(device, format, &globals_buf, pool),
            text_settled: TextLayer::new(device, queue, format, &text_shared),
            text_live: TextLayer::new(device, queue, format, &text_shared),
            text_shared,
            globals_buf,
            globals_bind,
            background: wgpu::Color::BLACK,
            cache: Cache {
                on: false,
                layer: None,
                full: true,
                dirty: DirtyRows::default(),
                bank_px_budget: None,
                gap_rects: Vec::new(),
                gaps_for: (0, 0),
                dirty_regions: Vec::new(),
                static_rects: Vec::new(),
                changed_bounds: Vec::new(),
                region_tiles: Tiles::default(),
                region_rects: Vec::new(),
            },
            seen: Seen::default(),
            plan: None,
            damage: Damage::default(),
            runs: Vec::new(),
            spare_rows: Vec::new(),
            spare_regions: Vec::new(),
            spare_damage: Vec::new(),
        }
    }

    /// Use the static layer (the caller checked the target allows copies into it).
    pub fn set_cached(&mut self, on: bool) {
        if on != self.cache.on {
            self.cache.on = on;
            self.cache.full = true;
        }
    }

    /// Caps the physical pixels of bank rows redrawn into the static layer per frame (None: no
    /// cap). When more changed, the rest wait their turn (round robin): at ludicrous speed on a
    /// software adapter most of memory changes every frame, and redrawing all of it is what the
    /// frame rate cannot afford.
    pub fn set_bank_budget(&mut self, px: Option<u64>) {
        self.cache.bank_px_budget = px;
    }

    /// The runs of banks whose state the last `prepare` uploaded (empty when none were).
    pub fn state_runs(&self) -> &[Range<u32>] {
        &self.runs
    }

    /// Particles in the pool.
    pub fn particle_pool(&self) -> u32 {
        self.particles.count()
    }

    /// Rows of banks still waiting to be redrawn.
    pub fn rows_waiting(&self) -> u32 {
        self.cache.dirty.waiting()
    }

    /// Uploads what changed in `f` and plans its frame.
    pub fn prepare(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        f: &FrameData<'_>,
    ) -> PrepareStats {
        self.settle_last_plan();
        self.text_settled.trim();
        self.text_live.trim();
        let mut st = PrepareStats::default();
        let [r, g, b] = f.background;
        self.background = wgpu::Color {
            r: r as f64,
            g: g as f64,
            b: b as f64,
            a: 1.0,
        };
        self.prepare_banks(device, queue, f, &mut st);
        if f.shapes_revision != self.seen.shapes {
            self.seen.shapes = f.shapes_revision;
            let mut changed = std::mem::take(&mut self.cache.changed_bounds);
            let had = self.shapes.upload(device, queue, f.shapes, &mut changed);
            st.shapes_uploaded = true;
            if had {
                // Only where the shapes under the banks differ (2 px more for antialiasing).
                let s = f.target.scale;
                let px = changed.iter().map(|b| b.map(|v| v * s));
                self.redraw_regions(px, 2.0, f.target.width, f.target.height);
            } else {
                self.invalidate_static();
            }
            self.cache.changed_bounds = changed;
        }
        self.prepare_texts(device, queue, f, &mut st);
        self.particles.set_params(queue, &f.particles);
        let mut globals = Globals::new(&f.uniforms, f.palette);
        globals.palette[crate::frame::contract::SLOT_BACKGROUND as usize] = [r, g, b, 1.0];
        queue.write_buffer(&self.globals_buf, 0, bytemuck::bytes_of(&globals));
        let mut plan = self.plan_frame(device, f.target.width, f.target.height);
        self.plan_damage(f, &mut plan);
        self.plan = Some(plan);
        st
    }

    /// Where this frame differs from the last recorded one (for a static layer's plan).
    fn plan_damage(&mut self, f: &FrameData<'_>, plan: &mut Plan) {
        plan.damage = std::mem::take(&mut self.spare_damage);
        plan.damage.clear();
        if !plan.cached {
            return;
        }
        let (w, h) = (f.target.width, f.target.height);
        let d = &mut self.damage;
        if d.frame.size() != (w, h) {
            for t in [
                &mut d.now,
                &mut d.prev,
                &mut d.frame,
                &mut d.old_paths,
                &mut d.waves,
            ] {
                t.reset(w, h);
            }
            d.gaps_for = 0;
            d.prev.fill();
            d.old_left = 0.0;
        }
        let scale = f.target.scale;
        let u = &f.uniforms;
        if d.gaps_for != self.seen.geometry || d.gaps.size() != (w, h) {
            d.gaps.reset(w, h);
            for r in &self.cache.gap_rects {
                d.gaps.mark(r);
            }
            d.gaps_for = self.seen.geometry;
        }
        d.now.clear();
        d.waves.clear();
        super::waves::mark_footprint(&mut d.waves, u.screen, scale, u.time, u.pressure);
        d.waves.intersect(&d.gaps);
        d.now.union(&d.waves);
        for b in self.shapes.over_footprint(u.dot).into_iter().flatten() {
            d.now.mark_f(b.map(|v| v * scale), 2.0);
        }
        Self::mark_paths(d, &f.particles, w, h, scale);
        d.now.union(&d.paths);
        if d.old_left > 0.0 {
            d.now.union(&d.old_paths);
            d.old_left -= f.particles.dt.clamp(0.0, 0.25);
        }
        d.frame.clear();
        if plan.full {
            d.frame.fill();
        } else {
            d.frame.union(&d.now);
            d.frame.union(&d.prev);
            for r in plan.regions.iter().filter_map(|r| clip(r, w, h)) {
                d.frame.mark(&r);
            }
        }
        d.frame.rects(&mut plan.damage);
        // Rows of banks redrawn, exactly (a row is a few pixels tall; a tile is 32): damage
        // rectangles may overlap, since each is only copied.
        if !plan.full {
            let rows = self.banks.row_rects(&plan.rows, w, h).map(|(_, r)| r);
            plan.damage.extend(rows);
        }
    }

    /// The particles' paths: from anywhere in a source to the middle of the die (the spawn rule
    /// of `shaders/particles.wgsl`), marked again only when the sources, die or scale change;
    /// the old paths stay marked while particles may still be on them.
    fn mark_paths(d: &mut Damage, p: &crate::frame::Particles<'_>, w: u32, h: u32, scale: f32) {
        let key = &d.paths_for;
        if d.paths.size() == (w, h) && key.0 == p.sources && key.1 == p.die && key.2 == scale {
            return;
        }
        std::mem::swap(&mut d.paths, &mut d.old_paths);
        d.old_left = if d.old_paths.size() == (w, h) {
            PARTICLE_LIFE_MAX
        } else {
            0.0
        };
        d.paths.reset(w, h);
        let die = p.die;
        let inner = [
            (die[0] + 0.2 * die[2]) * scale,
            (die[1] + 0.2 * die[3]) * scale,
            0.6 * die[2] * scale,
            0.6 * die[3] * scale,
        ];
        for s in p.sources.iter().take(crate::frame::contract::MAX_SOURCES) {
            d.paths.mark_hull(s.map(|v| v * scale), inner, 2.0);
        }
        d.paths_for.0.clear();
        d.paths_for.0.extend_from_slice(p.sources);
        d.paths_for.1 = die;
        d.paths_for.2 = scale;
    }

    /// The last plan: recorded, the particles move on; not recorded, its redraws wait for the
    /// next frame.
    fn settle_last_plan(&mut self) {
        let Some(plan) = self.plan.take() else {
            return;
        };
        if plan.recorded.get() {
            self.particles.advance();
            // The frame now shows this plan's moving parts.
            std::mem::swap(&mut self.damage.prev, &mut self.damage.now);
            self.spare_damage = plan.damage;
            self.spare_rows = plan.rows;
            self.spare_regions = plan.regions;
            return;
        }
        if plan.full {
            self.cache.full = true;
        }
        for rows in plan.rows {
            self.cache.dirty.mark(rows);
        }
        self.cache.dirty_regions.extend(plan.regions);
    }

    fn prepare_banks(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        f: &FrameData<'_>,
        st: &mut PrepareStats,
    ) {
        let b = &f.banks;
        if b.geometry_revision != self.seen.geometry {
            self.seen.geometry = b.geometry_revision;
            self.banks
                .set_grids(device, queue, b.grids, b.pitch, b.size, f.target.scale);
            st.grids_uploaded = true;
            self.invalidate_static();
            let (w, h) = (f.target.width, f.target.height);
            self.cache.gap_rects = gaps(f.static_rects, w, h);
            self.cache.gaps_for = (w, h);
            self.cache.static_rects = f.static_rects.to_vec();
        }
        if b.states_revision != self.seen.states {
            self.seen.states = b.states_revision;
            let mut runs = std::mem::take(&mut self.runs);
            self.banks.update_states(queue, b.states, &mut runs);
            st.states_written = runs.iter().map(|r| r.len()).sum();
            st.state_runs = runs.len();
            self.queue_runs(&runs);
            self.runs = runs;
        } else {
            self.runs.clear();
        }
        // Banks whose look moves with time, where the static layer holds them.
        if self.cache.on {
            self.queue_runs(b.redraw);
            if !self.cache.full {
                for r in b.redraw_urgent {
                    self.cache.dirty.urgent(self.banks.rows_of(r));
                }
            }
        }
    }

    fn prepare_texts(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        f: &FrameData<'_>,
        st: &mut PrepareStats,
    ) {
        let (w, h) = (f.target.width, f.target.height);
        let t = &f.texts;
        if t.settled_revision != self.seen.settled {
            self.seen.settled = t.settled_revision;
            self.text_settled
                .prepare(device, queue, &mut self.text_shared, w, h, t.settled);
            st.texts_reshaped = self.text_settled.reshaped;
            // The lines of settled text that changed are redrawn (whole regions).
            let changed = std::mem::take(&mut self.text_settled.changed);
            let px = changed.iter().map(|r| r.map(|v| v as f32));
            self.redraw_regions(px, 0.0, w, h);
            self.text_settled.changed = changed;
        }
        if t.live_revision != self.seen.live {
            self.seen.live = t.live_revision;
            self.text_live
                .prepare(device, queue, &mut self.text_shared, w, h, t.live);
            st.texts_reshaped += self.text_live.reshaped;
            // Only the lines of live text that changed are redrawn.
            if !self.cache.full {
                let changed = &self.text_live.changed;
                self.cache.dirty_regions.extend_from_slice(changed);
            }
        }
    }

    /// Regions of the static layer (physical x, y, w, h, grown by `margin`) to redraw whole,
    /// merged into tiles; past half the frame, all of it.
    fn redraw_regions(
        &mut self,
        rects: impl Iterator<Item = [f32; 4]>,
        margin: f32,
        w: u32,
        h: u32,
    ) {
        if self.cache.full {
            return;
        }
        let t = &mut self.cache.region_tiles;
        t.reset(w, h);
        for r in rects {
            t.mark_f(r, margin);
        }
        if t.area() * 2 > w as u64 * h as u64 {
            self.invalidate_static();
            return;
        }
        let mut out = std::mem::take(&mut self.cache.region_rects);
        t.rects(&mut out);
        self.cache.dirty_regions.extend_from_slice(&out);
        self.cache.region_rects = out;
    }

    /// Everything in the static layer must be redrawn (the grids, shapes or settled text changed).
    fn invalidate_static(&mut self) {
        self.cache.full = true;
        self.cache.dirty.reset(self.banks.rows());
        self.cache.dirty_regions.clear();
    }

    /// Banks (ranges of bank states) to redraw into the static layer, as the budget allows.
    fn queue_runs(&mut self, runs: &[Range<u32>]) {
        if self.cache.full {
            return;
        }
        if self.cache.dirty.len() != self.banks.rows() {
            self.cache.dirty.reset(self.banks.rows());
        }
        for r in runs {
            self.cache.dirty.mark(self.banks.rows_of(r));
        }
    }

    /// Rows of banks redrawn per frame at most; None: all.
    fn row_budget(&self) -> Option<u32> {
        self.cache
            .bank_px_budget
            .map(|b| (b / self.banks.row_px()).clamp(1, u32::MAX as u64) as u32)
    }

    /// What this frame redraws of the static layer (made for a `w` x `h` frame when it is not).
    fn plan_frame(&mut self, device: &wgpu::Device, w: u32, h: u32) -> Plan {
        if !self.cache.on {
            return Plan::default();
        }
        if self
            .cache
            .layer
            .as_ref()
            .is_none_or(|l| l.width != w || l.height != h)
        {
            self.cache.layer = Some(Offscreen::with_format(device, w, h, self.format));
            self.cache.full = true;
        }
        let mut plan = Plan {
            cached: true,
            ..Plan::default()
        };
        if self.cache.full {
            plan.full = true;
            self.cache.dirty.reset(self.banks.rows());
        } else if self.cache.dirty.any() || !self.cache.dirty_regions.is_empty() {
            let budget = self.row_budget();
            plan.rows = std::mem::take(&mut self.spare_rows);
            self.cache.dirty.take_into(budget, &mut plan.rows);
            coalesce(&mut plan.rows, 96);
            // Rows joined into a range are drawn now, waiting or not.
            for r in &plan.rows {
                self.cache.dirty.clean(r.clone());
            }
            plan.regions = std::mem::take(&mut self.spare_regions);
            self.take_regions(w, h, &mut plan.regions);
        }
        if plan.full {
            self.cache.dirty_regions.clear();
        }
        self.cache.full = false;
        plan
    }

    /// Regions to redraw this frame, first queued first: with a pixel budget (a software
    /// adapter), as many as it allows and at least one, the rest wait for the next frames (the
    /// live text is always the latest, so a region drawn late shows it); else all of them.
    fn take_regions(&mut self, w: u32, h: u32, out: &mut Vec<PxRect>) {
        out.clear();
        let queue = &mut self.cache.dirty_regions;
        // A region queued twice is drawn once.
        let mut i = 0;
        while i < queue.len() {
            if queue[..i].contains(&queue[i]) {
                queue.remove(i);
            } else {
                i += 1;
            }
        }
        let Some(budget) = self.cache.bank_px_budget else {
            out.append(queue);
            return;
        };
        let mut area = 0u64;
        let mut n = 0;
        for r in queue.iter() {
            let a = clip(r, w, h).map_or(0, |c| c[2] as u64 * c[3] as u64);
            if n > 0 && area + a > budget {
                break;
            }
            area += a;
            n += 1;
        }
        out.extend(queue.drain(..n));
    }

    /// Records the frame `prepare` planned into `target` (whose texture is `texture`), whole.
    pub fn render(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        texture: &wgpu::Texture,
        target: &wgpu::TextureView,
    ) {
        self.render_onto(encoder, texture, target, false);
    }

    /// Records the frame `prepare` planned into `target`. `retained`: the texture still holds
    /// the last frame this renderer recorded into it, so (with the static layer) only what
    /// changed is drawn. Returns the rectangles that changed, or None when the whole frame was.
    pub fn render_onto(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        texture: &wgpu::Texture,
        target: &wgpu::TextureView,
        retained: bool,
    ) -> Option<&[PxRect]> {
        self.particles.compute(encoder);
        let layer = self
            .cache
            .layer
            .as_ref()
            .filter(|l| l.width == texture.width() && l.height == texture.height());
        let size = (texture.width(), texture.height());
        match (&self.plan, layer) {
            (Some(plan), Some(layer)) if plan.cached => {
                let damaged = retained
                    && !plan.full
                    && self.cache.gaps_for == size
                    && self.damage.frame.size() == size;
                if damaged {
                    self.render_damaged(encoder, texture, target, layer, plan);
                } else {
                    self.render_cached(encoder, texture, target, layer, plan);
                }
                plan.recorded.set(true);
                damaged.then_some(&plan.damage[..])
            }
            (Some(plan), _) if !plan.cached => {
                self.render_direct(encoder, target);
                plan.recorded.set(true);
                None
            }
            // No plan for this target: every layer into the frame; the plan waits.
            _ => {
                self.render_direct(encoder, target);
                None
            }
        }
    }

    /// The frame brought up to date where it changed: the static layer's changes, then the
    /// damaged rectangles copied from it, the waves over them (only in the gaps between the
    /// static rectangles, as a whole frame has them) and what is drawn over the banks, which
    /// only ever draws inside the damage.
    fn render_damaged(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        texture: &wgpu::Texture,
        target: &wgpu::TextureView,
        layer: &Offscreen,
        plan: &Plan,
    ) {
        let g = &self.globals_bind;
        let (w, h) = (texture.width(), texture.height());
        self.update_layer(encoder, layer, plan, w, h);
        copy_rects(encoder, &layer.texture, texture, &plan.damage);
        let mut pass = pass(encoder, target, wgpu::LoadOp::Load);
        for [x, y, cw, ch] in self.cache.gap_rects.iter().filter_map(|r| clip(r, w, h)) {
            pass.set_scissor_rect(x, y, cw, ch);
            self.waves.draw(&mut pass, g);
        }
        pass.set_scissor_rect(0, 0, w, h);
        self.shapes.draw(&mut pass, g, true);
        self.particles.draw(&mut pass);
    }

    /// Redraws the rows and regions `plan` names into the static layer.
    fn update_layer(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        layer: &Offscreen,
        plan: &Plan,
        w: u32,
        h: u32,
    ) {
        if plan.rows.is_empty() && plan.regions.is_empty() {
            return;
        }
        let g = &self.globals_bind;
        let mut pass = pass(encoder, &layer.view, wgpu::LoadOp::Load);
        if !plan.rows.is_empty() {
            self.banks.draw_rows(&mut pass, g, Some((&plan.rows, w, h)));
        }
        // A region whose shapes or text changed: everything in it again, scissored.
        for [x, y, cw, ch] in plan.regions.iter().filter_map(|r| clip(r, w, h)) {
            pass.set_scissor_rect(x, y, cw, ch);
            self.fill.draw(&mut pass, g);
            self.shapes.draw(&mut pass, g, false);
            self.banks.draw_rows(&mut pass, g, None);
            self.text_settled.render(&mut pass);
            self.text_live.render(&mut pass);
        }
    }

    /// Every layer drawn into the frame.
    fn render_direct(&self, encoder: &mut wgpu::CommandEncoder, target: &wgpu::TextureView) {
        let g = &self.globals_bind;
        let mut pass = pass(encoder, target, wgpu::LoadOp::Clear(self.background));
        self.waves.draw(&mut pass, g);
        self.shapes.draw(&mut pass, g, false);
        self.banks.draw_rows(&mut pass, g, None);
        self.shapes.draw(&mut pass, g, true);
        self.particles.draw(&mut pass);
        self.text_settled.render(&mut pass);
        self.text_live.render(&mut pass);
    }

    /// The static layer brought up to date, then the frame: background (copied, or cleared when
    /// the gaps are not known for this size), the waves over it, the static rectangles copied
    /// over those, and what is drawn over the banks.
    fn render_cached(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        texture: &wgpu::Texture,
        target: &wgpu::TextureView,
        layer: &Offscreen,
        plan: &Plan,
    ) {
        let g = &self.globals_bind;
        let (w, h) = (texture.width(), texture.height());
        if plan.full {
            let mut pass = pass(encoder, &layer.view, wgpu::LoadOp::Clear(self.background));
            self.shapes.draw(&mut pass, g, false);
            self.banks.draw_rows(&mut pass, g, None);
            self.text_settled.render(&mut pass);
            self.text_live.render(&mut pass);
        } else {
            self.update_layer(encoder, layer, plan, w, h);
        }
        let copied = self.cache.gaps_for == (w, h);
        if copied {
            copy_rects(encoder, &layer.texture, texture, &self.cache.gap_rects);
        }
        {
            let load = if copied {
                wgpu::LoadOp::Load
            } else {
                wgpu::LoadOp::Clear(self.background)
            };
            let mut pass = pass(encoder, target, load);
            self.waves.draw(&mut pass, g);
        }
        copy_rects(encoder, &layer.texture, texture, &self.cache.static_rects);
        let mut pass = pass(encoder, target, wgpu::LoadOp::Load);
        self.shapes.draw(&mut pass, g, true);
        self.particles.draw(&mut pass);
    }
}
