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

/// All pipelines for one target format.
pub struct Renderer {
    /// Draw through the static layer (needs COPY_DST on the target).
    cached: bool,
    static_layer: Option<StaticLayer>,
    static_full: bool,
    pending_runs: Vec<std::ops::Range<u32>>,
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
            pending_runs: Vec::new(),
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
        self.pending_runs.clear();
        self.dirty_panels.clear();
    }

    /// Banks to redraw into the static layer at the next frame.
    pub fn queue_runs(&mut self, runs: &[std::ops::Range<u32>]) {
        if !self.static_full {
            self.pending_runs.extend_from_slice(runs);
        }
    }

    /// Panels (physical px: x, y, w, h) to redraw into the static layer: background and text.
    pub fn queue_panels(&mut self, rects: &[[u32; 4]]) {
        if !self.static_full {
            self.dirty_panels.extend_from_slice(rects);
        }
    }

    /// Rectangles (physical px: x, y, w, h) copied from the static layer into each frame.
    pub fn set_static_rects(&mut self, rects: Vec<[u32; 4]>) {
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
            self.banks.draw_runs(&mut pass, &self.globals_bind, None);
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
            self.banks.draw_runs(&mut pass, &self.globals_bind, None);
            self.text_static.render(&mut pass);
            self.text.render(&mut pass);
        } else if !self.pending_runs.is_empty() || !self.dirty_panels.is_empty() {
            banks::coalesce(&mut self.pending_runs, 48);
            let mut pass = Renderer::pass(encoder, &layer.view, wgpu::LoadOp::Load);
            if !self.pending_runs.is_empty() {
                self.banks
                    .draw_runs(&mut pass, &self.globals_bind, Some(&self.pending_runs));
            }
            // A panel whose text changed: its background again (scissored), then the text.
            for [x, y, cw, ch] in self.dirty_panels.iter().filter_map(|r| clip(r, w, h)) {
                pass.set_scissor_rect(x, y, cw, ch);
                self.shapes.draw(&mut pass, &self.globals_bind, false);
                self.text.render(&mut pass);
            }
        }
        self.static_full = false;
        self.pending_runs.clear();
        self.dirty_panels.clear();
        {
            let mut pass = Renderer::pass(encoder, target, wgpu::LoadOp::Clear(clear));
            self.waves.draw(&mut pass, &self.globals_bind);
        }
        for [x, y, cw, ch] in self.static_rects.iter().filter_map(|r| clip(r, w, h)) {
            let origin = wgpu::Origin3d { x, y, z: 0 };
            encoder.copy_texture_to_texture(
                wgpu::TexelCopyTextureInfo {
                    texture: &layer.texture,
                    mip_level: 0,
                    origin,
                    aspect: wgpu::TextureAspect::All,
                },
                wgpu::TexelCopyTextureInfo {
                    texture,
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
        let mut pass = Renderer::pass(encoder, target, wgpu::LoadOp::Load);
        self.shapes.draw(&mut pass, &self.globals_bind, true);
        self.particles.draw(&mut pass);
    }
}
