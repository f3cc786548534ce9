//! wgpu rendering: one module per pipeline (banks, shapes, waves, text), a context for a window
//! surface or an offscreen target, frame orchestration (`View`) and PNG readback. Every renderer
//! splits `prepare` (uploads) from drawing. Render computes no memory numbers: it draws a `Layout`,
//! a `MemoryMap` and panel texts.

pub mod banks;
pub mod context;
pub mod headless;
pub mod offscreen;
pub mod particles;
pub mod shapes;
pub mod text;
pub mod view;
pub mod waves;

use crate::layout::{palette, Layout};
use bytemuck::{Pod, Zeroable};
pub use context::{GpuContext, RenderError};
pub use view::View;

/// The per-frame uniform every pipeline reads (see shaders/common.wgsl).
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct Globals {
    pub screen: [f32; 2],
    pub time: f32,
    pub scale: f32,
    pub dot: [f32; 2],
    pub bank_size: f32,
    pub pressure: f32,
    pub flash: f32,
    pub progress: f32,
    pub bank_pitch: f32,
    pub _pad: f32,
    pub palette: [[f32; 4]; 32],
}
const _: () = assert!(std::mem::size_of::<Globals>() == 560);

/// A pipeline's WGSL: common.wgsl joined with its own file.
pub fn shader_source(name: &str) -> &'static str {
    match name {
        "banks" => concat!(
            include_str!("../../shaders/common.wgsl"),
            include_str!("../../shaders/banks.wgsl")
        ),
        "shapes" => concat!(
            include_str!("../../shaders/common.wgsl"),
            include_str!("../../shaders/shapes.wgsl")
        ),
        "waves" => concat!(
            include_str!("../../shaders/common.wgsl"),
            include_str!("../../shaders/waves.wgsl")
        ),
        "particles" => concat!(
            include_str!("../../shaders/common.wgsl"),
            include_str!("../../shaders/particles.wgsl")
        ),
        _ => "",
    }
}

/// The module of a pipeline's WGSL.
pub(crate) fn shader_module(device: &wgpu::Device, name: &'static str) -> wgpu::ShaderModule {
    device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(name),
        source: wgpu::ShaderSource::Wgsl(shader_source(name).into()),
    })
}

/// What differs between the render pipelines (all use `vs_main` and `fs_main`, one colour target).
pub(crate) struct PipelineSpec<'a> {
    pub label: &'static str,
    pub shader: &'a wgpu::ShaderModule,
    pub groups: &'a [Option<&'a wgpu::BindGroupLayout>],
    pub buffers: &'a [Option<wgpu::VertexBufferLayout<'a>>],
    pub topology: wgpu::PrimitiveTopology,
    pub blend: Option<wgpu::BlendState>,
}

pub(crate) fn render_pipeline(
    device: &wgpu::Device,
    format: wgpu::TextureFormat,
    spec: PipelineSpec<'_>,
) -> wgpu::RenderPipeline {
    let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(spec.label),
        bind_group_layouts: spec.groups,
        immediate_size: 0,
    });
    device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some(spec.label),
        layout: Some(&layout),
        vertex: wgpu::VertexState {
            module: spec.shader,
            entry_point: Some("vs_main"),
            compilation_options: Default::default(),
            buffers: spec.buffers,
        },
        fragment: Some(wgpu::FragmentState {
            module: spec.shader,
            entry_point: Some("fs_main"),
            compilation_options: Default::default(),
            targets: &[Some(wgpu::ColorTargetState {
                format,
                blend: spec.blend,
                write_mask: wgpu::ColorWrites::ALL,
            })],
        }),
        primitive: wgpu::PrimitiveState {
            topology: spec.topology,
            ..Default::default()
        },
        depth_stencil: None,
        multisample: wgpu::MultisampleState::default(),
        multiview_mask: None,
        cache: None,
    })
}

/// Names of the pipelines with WGSL (for validation).
pub const SHADERS: [&str; 4] = ["banks", "shapes", "waves", "particles"];

/// What a frame needs besides the layout: time-driven values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrameValues {
    pub time: f32,
    pub progress: f32,
    pub pressure: f32,
    pub flash: bool,
}

/// The layer that changes rarely (panel and package backgrounds, the die, the banks), kept in a
/// texture: banks are redrawn into it only where they changed, and its rectangles are copied into
/// each frame. Used on software adapters, where every covered pixel costs.
struct StaticLayer {
    texture: wgpu::Texture,
    view: wgpu::TextureView,
    width: u32,
    height: u32,
}

/// A rectangle (x, y, w, h) clipped to a w x h target; None when nothing is left.
fn clip(r: &[u32; 4], w: u32, h: u32) -> Option<[u32; 4]> {
    let x = r[0].min(w);
    let y = r[1].min(h);
    let cw = r[2].min(w - x);
    let ch = r[3].min(h - y);
    (cw > 0 && ch > 0).then_some([x, y, cw, ch])
}

/// Rows of banks waiting to be redrawn into the static layer: a flag per row, taken a budget at a
/// time in round-robin order (so every row gets its turn however much keeps changing), plus rows
/// that go first whatever the budget.
#[derive(Clone, Debug, Default)]
pub struct DirtyRows {
    flags: Vec<bool>,
    count: u32,
    cursor: u32,
    urgent: Vec<std::ops::Range<u32>>,
}

impl DirtyRows {
    /// `rows` rows, none waiting.
    pub fn reset(&mut self, rows: u32) {
        self.flags.clear();
        self.flags.resize(rows as usize, false);
        self.count = 0;
        self.urgent.clear();
    }

    pub fn len(&self) -> u32 {
        self.flags.len() as u32
    }

    pub fn is_empty(&self) -> bool {
        self.flags.is_empty()
    }

    /// Rows waiting (not counting urgent ones).
    pub fn waiting(&self) -> u32 {
        self.count
    }

    pub fn any(&self) -> bool {
        self.count > 0 || !self.urgent.is_empty()
    }

    pub fn mark(&mut self, rows: std::ops::Range<u32>) {
        for row in rows {
            if let Some(d) = self.flags.get_mut(row as usize) {
                if !*d {
                    *d = true;
                    self.count += 1;
                }
            }
        }
    }

    pub fn urgent(&mut self, rows: std::ops::Range<u32>) {
        let rows = rows.start.min(self.len())..rows.end.min(self.len());
        if !rows.is_empty() {
            self.urgent.push(rows);
        }
    }

    /// This frame's rows as ranges: the urgent ones, then waiting rows from where the last budgeted
    /// take stopped, at most `budget` of them (None: all, from the top).
    pub fn take(&mut self, budget: Option<u32>) -> Vec<std::ops::Range<u32>> {
        let mut out = std::mem::take(&mut self.urgent);
        let n = self.len();
        if self.count == 0 || n == 0 {
            return out;
        }
        let mut left = budget.unwrap_or(u32::MAX).max(1);
        let start = if budget.is_some() { self.cursor % n } else { 0 };
        let mut i = start;
        loop {
            if self.flags[i as usize] {
                self.flags[i as usize] = false;
                self.count -= 1;
                match out.last_mut() {
                    Some(last) if last.end == i => last.end = i + 1,
                    _ => out.push(i..i + 1),
                }
                left -= 1;
                if left == 0 || self.count == 0 {
                    i = (i + 1) % n;
                    break;
                }
            }
            i = (i + 1) % n;
            if i == start {
                break;
            }
        }
        self.cursor = i;
        out
    }
}

/// The parts of a `w` x `h` frame outside `rects` (x, y, w, h), as few rectangles: cells of the
/// grid of all rectangle edges, merged along rows and then down columns.
pub fn gaps(rects: &[[u32; 4]], w: u32, h: u32) -> Vec<[u32; 4]> {
    let rects: Vec<[u32; 4]> = rects.iter().filter_map(|r| clip(r, w, h)).collect();
    let mut xs = vec![0, w];
    let mut ys = vec![0, h];
    for r in &rects {
        xs.extend([r[0], r[0] + r[2]]);
        ys.extend([r[1], r[1] + r[3]]);
    }
    xs.sort_unstable();
    xs.dedup();
    ys.sort_unstable();
    ys.dedup();
    let covered = |x: u32, y: u32| {
        rects
            .iter()
            .any(|r| x >= r[0] && x < r[0] + r[2] && y >= r[1] && y < r[1] + r[3])
    };
    let mut out: Vec<[u32; 4]> = Vec::new();
    // Spans of the band above, to extend downwards when a band repeats them.
    let mut open: Vec<usize> = Vec::new();
    for band in ys.windows(2) {
        let (y0, y1) = (band[0], band[1]);
        let mut spans: Vec<(u32, u32)> = Vec::new();
        for cell in xs.windows(2) {
            if covered(cell[0], y0) {
                continue;
            }
            match spans.last_mut() {
                Some(last) if last.1 == cell[0] => last.1 = cell[1],
                _ => spans.push((cell[0], cell[1])),
            }
        }
        let mut next_open = Vec::new();
        for (x0, x1) in spans {
            let above = open
                .iter()
                .copied()
                .find(|&i| out[i][0] == x0 && out[i][2] == x1 - x0 && out[i][1] + out[i][3] == y0);
            match above {
                Some(i) => {
                    out[i][3] += y1 - y0;
                    next_open.push(i);
                }
                None => {
                    out.push([x0, y0, x1 - x0, y1 - y0]);
                    next_open.push(out.len() - 1);
                }
            }
        }
        open = next_open;
    }
    out
}

/// All pipelines for one target format.
pub struct Renderer {
    /// Draw through the static layer (needs COPY_DST on the target).
    cached: bool,
    static_layer: Option<StaticLayer>,
    static_full: bool,
    /// Rows of banks to redraw into the static layer.
    dirty: DirtyRows,
    /// At most this many physical pixels of bank rows are redrawn per frame; None: all of them.
    bank_px_budget: Option<u64>,
    /// Physical rectangles of the frame outside the static rectangles (background in the static
    /// layer too), copied instead of clearing the frame; with the frame size they are for.
    gap_rects: Vec<[u32; 4]>,
    gaps_for: (u32, u32),
    /// Panels whose text changed: redrawn into the static layer (physical x, y, w, h).
    dirty_panels: Vec<[u32; 4]>,
    static_rects: Vec<[u32; 4]>,
    pub format: wgpu::TextureFormat,
    globals_buf: wgpu::Buffer,
    globals_bind: wgpu::BindGroup,
    pub banks: banks::BanksPipeline,
    pub shapes: shapes::ShapesPipeline,
    pub waves: waves::WavesPipeline,
    pub particles: particles::ParticlesPipeline,
    /// Text of the panels that change while tokens grow.
    pub text: text::TextLayer,
    /// Text of the other panels (drawn into the static layer when cached).
    pub text_static: text::TextLayer,
    palette: [[f32; 4]; 32],
}

impl Renderer {
    /// Pipelines for `format`, with a pool of `pool` particles (see `particles::pool_for`).
    pub fn new(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        format: wgpu::TextureFormat,
        pool: u32,
    ) -> Renderer {
        let globals_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("globals"),
            entries: &[wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: wgpu::ShaderStages::VERTEX_FRAGMENT,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: false,
                    min_binding_size: wgpu::BufferSize::new(std::mem::size_of::<Globals>() as u64),
                },
                count: None,
            }],
        });
        let globals_buf = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("globals"),
            size: std::mem::size_of::<Globals>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let globals_bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("globals"),
            layout: &globals_layout,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: globals_buf.as_entire_binding(),
            }],
        });
        Renderer {
            cached: false,
            static_layer: None,
            static_full: true,
            dirty: DirtyRows::default(),
            bank_px_budget: None,
            gap_rects: Vec::new(),
            gaps_for: (0, 0),
            dirty_panels: Vec::new(),
            static_rects: Vec::new(),
            format,
            banks: banks::BanksPipeline::new(device, format, &globals_layout),
            shapes: shapes::ShapesPipeline::new(device, format, &globals_layout),
            waves: waves::WavesPipeline::new(device, format, &globals_layout),
            particles: particles::ParticlesPipeline::new(device, format, &globals_buf, pool),
            text: text::TextLayer::new(device, queue, format),
            text_static: text::TextLayer::new(device, queue, format),
            globals_buf,
            globals_bind,
            palette: palette::slots(),
        }
    }

    /// The per-frame uniform upload.
    pub fn write_globals(&self, queue: &wgpu::Queue, layout: &Layout, v: &FrameValues) {
        let g = Globals {
            screen: [layout.width, layout.height],
            time: v.time,
            scale: layout.scale,
            dot: shapes::dot_position(layout, v.progress as f64),
            bank_size: layout.bank_size,
            pressure: v.pressure,
            flash: if v.flash { 1.0 } else { 0.0 },
            progress: v.progress,
            bank_pitch: layout.bank_pitch,
            _pad: 0.0,
            palette: self.palette,
        };
        queue.write_buffer(&self.globals_buf, 0, bytemuck::bytes_of(&g));
    }

    /// Use the static layer (the caller checked the target allows copies into it).
    pub fn set_cached(&mut self, on: bool) {
        if on != self.cached {
            self.cached = on;
            self.static_full = true;
        }
    }

    pub fn is_cached(&self) -> bool {
        self.cached
    }

    /// Everything in the static layer must be redrawn (layout or shapes changed).
    pub fn invalidate_static(&mut self) {
        self.static_full = true;
        self.clear_dirty();
        self.dirty_panels.clear();
    }

    fn clear_dirty(&mut self) {
        self.dirty.reset(self.banks.rows());
    }

    /// Banks (ranges of the memory map) to redraw into the static layer, as the budget allows.
    pub fn queue_runs(&mut self, runs: &[std::ops::Range<u32>]) {
        if self.static_full {
            return;
        }
        if self.dirty.len() != self.banks.rows() {
            self.clear_dirty();
        }
        for r in runs {
            self.dirty.mark(self.banks.rows_of(r));
        }
    }

    /// Banks to redraw at the next frame whatever the budget (few: the pulsing newest ones).
    pub fn queue_urgent(&mut self, runs: &[std::ops::Range<u32>]) {
        if self.static_full {
            return;
        }
        for r in runs {
            self.dirty.urgent(self.banks.rows_of(r));
        }
    }

    /// Pixels of bank rows a software adapter redraws per frame at most: about 3 ms of bank
    /// shading at 3840x2160 on 2 cores (a whole 4K bank area is about 2 million pixels).
    pub const SOFTWARE_BANK_BUDGET: u64 = 300_000;

    /// Caps the physical pixels of bank rows redrawn into the static layer per frame (None: no
    /// cap). When more changed, the rest wait their turn (round robin): at ludicrous speed on a
    /// software adapter most of memory changes every frame, and redrawing all of it is what the
    /// frame rate cannot afford.
    pub fn set_bank_budget(&mut self, px: Option<u64>) {
        self.bank_px_budget = px;
    }

    /// Rows of banks redrawn per frame at most; None: all.
    fn row_budget(&self) -> Option<u32> {
        self.bank_px_budget
            .map(|b| (b / self.banks.row_px()).clamp(1, u32::MAX as u64) as u32)
    }

    /// Rows of banks still waiting to be redrawn.
    pub fn rows_waiting(&self) -> u32 {
        self.dirty.waiting()
    }

    /// Panels (physical px: x, y, w, h) to redraw into the static layer: background and text.
    pub fn queue_panels(&mut self, rects: &[[u32; 4]]) {
        if !self.static_full {
            self.dirty_panels.extend_from_slice(rects);
        }
    }

    /// Rectangles (physical px: x, y, w, h) copied from the static layer into each frame of
    /// `width` x `height`. The rest of the frame is background, copied from the static layer as
    /// well: a copy is a memcpy, a clear or a background fill costs more on a software adapter.
    pub fn set_static_rects(&mut self, rects: Vec<[u32; 4]>, width: u32, height: u32) {
        self.gap_rects = gaps(&rects, width, height);
        self.gaps_for = (width, height);
        self.static_rects = rects;
    }

    fn clear_color() -> wgpu::Color {
        let bg = palette::BACKGROUND;
        wgpu::Color {
            r: palette::linear(bg[0]) as f64,
            g: palette::linear(bg[1]) as f64,
            b: palette::linear(bg[2]) as f64,
            a: 1.0,
        }
    }

    /// Copies rectangles (physical x, y, w, h) from `from` into `to` at the same place.
    fn copy_rects(
        encoder: &mut wgpu::CommandEncoder,
        from: &wgpu::Texture,
        to: &wgpu::Texture,
        rects: &[[u32; 4]],
    ) {
        let (w, h) = (to.width().min(from.width()), to.height().min(from.height()));
        for [x, y, cw, ch] in rects.iter().filter_map(|r| clip(r, w, h)) {
            let origin = wgpu::Origin3d { x, y, z: 0 };
            encoder.copy_texture_to_texture(
                wgpu::TexelCopyTextureInfo {
                    texture: from,
                    mip_level: 0,
                    origin,
                    aspect: wgpu::TextureAspect::All,
                },
                wgpu::TexelCopyTextureInfo {
                    texture: to,
                    mip_level: 0,
                    origin,
                    aspect: wgpu::TextureAspect::All,
                },
                wgpu::Extent3d {
                    width: cw,
                    height: ch,
                    depth_or_array_layers: 1,
                },
            );
        }
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

    /// Records the frame into `target` (whose texture is `texture`).
    pub fn render(
        &mut self,
        device: &wgpu::Device,
        encoder: &mut wgpu::CommandEncoder,
        texture: &wgpu::Texture,
        target: &wgpu::TextureView,
    ) {
        let clear = Renderer::clear_color();
        self.particles.compute(encoder);
        if !self.cached {
            let mut pass = Renderer::pass(encoder, target, wgpu::LoadOp::Clear(clear));
            self.waves.draw(&mut pass, &self.globals_bind);
            self.shapes.draw(&mut pass, &self.globals_bind, false);
            self.banks.draw_rows(&mut pass, &self.globals_bind, None);
            self.shapes.draw(&mut pass, &self.globals_bind, true);
            self.particles.draw(&mut pass);
            self.text_static.render(&mut pass);
            self.text.render(&mut pass);
            return;
        }
        let (w, h) = (texture.width(), texture.height());
        if self
            .static_layer
            .as_ref()
            .is_none_or(|l| l.width != w || l.height != h)
        {
            let t = device.create_texture(&wgpu::TextureDescriptor {
                label: Some("static layer"),
                size: wgpu::Extent3d {
                    width: w,
                    height: h,
                    depth_or_array_layers: 1,
                },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: self.format,
                usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
                view_formats: &[],
            });
            let view = t.create_view(&wgpu::TextureViewDescriptor::default());
            self.static_layer = Some(StaticLayer {
                texture: t,
                view,
                width: w,
                height: h,
            });
            self.static_full = true;
        }
        let Some(layer) = &self.static_layer else {
            return;
        };
        if self.static_full {
            let mut pass = Renderer::pass(encoder, &layer.view, wgpu::LoadOp::Clear(clear));
            self.shapes.draw(&mut pass, &self.globals_bind, false);
            self.banks.draw_rows(&mut pass, &self.globals_bind, None);
            self.text_static.render(&mut pass);
            self.text.render(&mut pass);
        } else if self.dirty.any() || !self.dirty_panels.is_empty() {
            let budget = self.row_budget();
            let mut rows = self.dirty.take(budget);
            banks::coalesce(&mut rows, 48);
            let Some(layer) = &self.static_layer else {
                return;
            };
            let mut pass = Renderer::pass(encoder, &layer.view, wgpu::LoadOp::Load);
            if !rows.is_empty() {
                self.banks
                    .draw_rows(&mut pass, &self.globals_bind, Some((&rows, w, h)));
            }
            // A panel whose text changed: its background again (scissored), then the text.
            for [x, y, cw, ch] in self.dirty_panels.iter().filter_map(|r| clip(r, w, h)) {
                pass.set_scissor_rect(x, y, cw, ch);
                self.shapes.draw(&mut pass, &self.globals_bind, false);
                self.text.render(&mut pass);
            }
        }
        if self.static_full {
            self.clear_dirty();
        }
        self.static_full = false;
        self.dirty_panels.clear();
        let Some(layer) = &self.static_layer else {
            return;
        };
        // The frame: background (copied, or cleared when the gaps are not known for this size),
        // the waves over it, then the static rectangles copied over those.
        let copied = self.gaps_for == (w, h);
        if copied {
            Renderer::copy_rects(encoder, &layer.texture, texture, &self.gap_rects);
        }
        {
            let load = if copied {
                wgpu::LoadOp::Load
            } else {
                wgpu::LoadOp::Clear(clear)
            };
            let mut pass = Renderer::pass(encoder, target, load);
            self.waves.draw(&mut pass, &self.globals_bind);
        }
        Renderer::copy_rects(encoder, &layer.texture, texture, &self.static_rects);
        let mut pass = Renderer::pass(encoder, target, wgpu::LoadOp::Load);
        self.shapes.draw(&mut pass, &self.globals_bind, true);
        self.particles.draw(&mut pass);
    }
}

#[cfg(test)]
mod tests {
    use super::{gaps, DirtyRows};

    #[test]
    fn gaps_and_rects_tile_the_frame_exactly() {
        let rects = [
            [10, 10, 30, 20],
            [50, 0, 50, 40],
            [0, 60, 100, 40],
            [35, 20, 20, 10],
        ];
        let (w, h) = (100u32, 100u32);
        let g = gaps(&rects, w, h);
        let mut hits = vec![0u8; (w * h) as usize];
        for r in rects.iter().chain(&g) {
            for y in r[1]..r[1] + r[3] {
                for x in r[0]..r[0] + r[2] {
                    hits[(y * w + x) as usize] += 1;
                }
            }
        }
        // Every pixel covered once by a gap or a rectangle, except where the last rectangle overlaps
        // the first (x 35..40) and the second (x 50..55), both over y 20..30.
        let twice = hits.iter().filter(|&&c| c == 2).count();
        assert_eq!(twice, 2 * 5 * 10);
        assert!(hits.iter().all(|&c| c == 1 || c == 2));
        // Bands that repeat merge downwards: far fewer gaps than grid cells.
        assert!(g.len() <= 8, "{} gaps: {g:?}", g.len());
        assert_eq!(gaps(&[], 7, 5), vec![[0, 0, 7, 5]]);
        assert!(gaps(&[[0, 0, 9, 9]], 7, 5).is_empty());
    }

    #[test]
    fn budgeted_rows_take_turns_and_all_get_drawn() {
        let mut d = DirtyRows::default();
        d.reset(10);
        d.mark(0..10);
        d.urgent(3..4);
        assert_eq!(d.take(Some(4)), vec![3..4, 0..4]);
        assert_eq!(d.waiting(), 6);
        // Rows 0..4 change again: the cursor goes on from row 4 first.
        d.mark(0..4);
        assert_eq!(d.take(Some(4)), vec![4..8]);
        assert_eq!(d.take(Some(4)), vec![8..10, 0..2]);
        assert_eq!(d.take(Some(4)), vec![2..4]);
        assert!(!d.any());
        // No budget: everything, from the top.
        d.mark(7..9);
        d.mark(1..2);
        assert_eq!(d.take(None), vec![1..2, 7..9]);
        // Rows past the end are ignored.
        d.mark(9..20);
        d.urgent(12..15);
        assert_eq!(d.take(Some(1)), vec![9..10]);
    }
}
