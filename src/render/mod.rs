//! wgpu rendering: one module per pipeline (banks, shapes, waves, text), a context for a window
//! surface or an offscreen target, frame orchestration (`View`) and PNG readback. Every renderer
//! splits `prepare` (uploads) from drawing. Render computes no memory numbers: it draws a `Layout`,
//! a `MemoryMap` and panel texts.

pub mod banks;
pub mod context;
pub mod headless;
pub mod offscreen;
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
    pub _pad: [f32; 2],
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
        _ => "",
    }
}

/// Names of the pipelines with WGSL (for validation).
pub const SHADERS: [&str; 3] = ["banks", "shapes", "waves"];

/// What a frame needs besides the layout: time-driven values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrameValues {
    pub time: f32,
    pub progress: f32,
    pub pressure: f32,
    pub flash: bool,
}

/// All pipelines for one target format.
pub struct Renderer {
    pub format: wgpu::TextureFormat,
    globals_buf: wgpu::Buffer,
    globals_bind: wgpu::BindGroup,
    pub banks: banks::BanksPipeline,
    pub shapes: shapes::ShapesPipeline,
    pub waves: waves::WavesPipeline,
    pub text: text::TextLayer,
    palette: [[f32; 4]; 32],
}

impl Renderer {
    pub fn new(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        format: wgpu::TextureFormat,
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
            format,
            banks: banks::BanksPipeline::new(device, format, &globals_layout),
            shapes: shapes::ShapesPipeline::new(device, format, &globals_layout),
            waves: waves::WavesPipeline::new(device, format, &globals_layout),
            text: text::TextLayer::new(device, queue, format),
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
            _pad: [0.0; 2],
            palette: self.palette,
        };
        queue.write_buffer(&self.globals_buf, 0, bytemuck::bytes_of(&g));
    }

    /// Records the frame into `view`.
    pub fn render(&self, encoder: &mut wgpu::CommandEncoder, target: &wgpu::TextureView) {
        let bg = palette::BACKGROUND;
        let clear = wgpu::Color {
            r: palette::linear(bg[0]) as f64,
            g: palette::linear(bg[1]) as f64,
            b: palette::linear(bg[2]) as f64,
            a: 1.0,
        };
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("frame"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: target,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(clear),
                    store: wgpu::StoreOp::Store,
                },
            })],
            depth_stencil_attachment: None,
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        });
        self.waves.draw(&mut pass, &self.globals_bind);
        self.shapes.draw(&mut pass, &self.globals_bind, false);
        self.banks.draw(&mut pass, &self.globals_bind);
        self.shapes.draw(&mut pass, &self.globals_bind, true);
        self.text.render(&mut pass);
    }
}
