//! Compute-shader particles: a fixed pool in two storage buffers updated by a compute pass
//! (ping-pong), drawn as points. Data flowing between memory and die, at a rate the scene sets
//! (`frame::Particles`). Nothing allocates per frame; the CPU writes one small uniform.

use super::gpu::{Particle, ParticleParams};
use crate::frame::contract::{MAX_SOURCES, WORKGROUP_SIZE};
use crate::frame::Particles;

/// Pool sizes per tier: a software adapter pays per point.
pub const POOL_SOFTWARE: u32 = 4_000;
pub const POOL_GPU: u32 = 1_000_000;

/// The pool for an adapter.
pub fn pool_for(software: bool) -> u32 {
    if software {
        POOL_SOFTWARE
    } else {
        POOL_GPU
    }
}

/// The bind group layouts: globals and params (0), the compute pass's source and destination
/// pools, and the draw's pool.
struct Layouts {
    params: wgpu::BindGroupLayout,
    compute: wgpu::BindGroupLayout,
    draw: wgpu::BindGroupLayout,
}

fn entry(
    binding: u32,
    visibility: wgpu::ShaderStages,
    ty: wgpu::BufferBindingType,
) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility,
        ty: wgpu::BindingType::Buffer {
            ty,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

impl Layouts {
    fn new(device: &wgpu::Device) -> Layouts {
        use wgpu::BufferBindingType::{Storage, Uniform};
        use wgpu::ShaderStages as S;
        let all = S::VERTEX_FRAGMENT | S::COMPUTE;
        let layout = |label, entries: &[wgpu::BindGroupLayoutEntry]| {
            device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some(label),
                entries,
            })
        };
        Layouts {
            params: layout(
                "particles globals",
                &[entry(0, all, Uniform), entry(1, S::COMPUTE, Uniform)],
            ),
            compute: layout(
                "particles compute",
                &[
                    entry(0, S::COMPUTE, Storage { read_only: true }),
                    entry(1, S::COMPUTE, Storage { read_only: false }),
                ],
            ),
            draw: layout(
                "particles draw",
                &[entry(0, S::VERTEX, Storage { read_only: true })],
            ),
        }
    }
}

fn bind_group(
    device: &wgpu::Device,
    label: &str,
    layout: &wgpu::BindGroupLayout,
    buffers: &[&wgpu::Buffer],
) -> wgpu::BindGroup {
    let entries: Vec<wgpu::BindGroupEntry> = buffers
        .iter()
        .enumerate()
        .map(|(i, b)| wgpu::BindGroupEntry {
            binding: i as u32,
            resource: b.as_entire_binding(),
        })
        .collect();
    device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(label),
        layout,
        entries: &entries,
    })
}

/// The compute pipeline that moves the pool and the render pipeline that draws it.
fn pipelines(
    device: &wgpu::Device,
    format: wgpu::TextureFormat,
    shader: &wgpu::ShaderModule,
    layouts: &Layouts,
) -> (wgpu::ComputePipeline, wgpu::RenderPipeline) {
    let cl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some("particles compute"),
        bind_group_layouts: &[Some(&layouts.params), Some(&layouts.compute)],
        immediate_size: 0,
    });
    let compute = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("particles"),
        layout: Some(&cl),
        module: shader,
        entry_point: Some("cs_main"),
        compilation_options: Default::default(),
        cache: None,
    });
    let render = super::shaders::render_pipeline(
        device,
        format,
        super::shaders::PipelineSpec {
            label: "particles",
            shader,
            groups: &[Some(&layouts.params), Some(&layouts.draw)],
            buffers: &[],
            topology: wgpu::PrimitiveTopology::PointList,
            blend: Some(wgpu::BlendState::ALPHA_BLENDING),
        },
    );
    (compute, render)
}

pub struct ParticlesPipeline {
    compute: wgpu::ComputePipeline,
    render: wgpu::RenderPipeline,
    params_buf: wgpu::Buffer,
    bind0: wgpu::BindGroup,
    compute_binds: [wgpu::BindGroup; 2],
    render_binds: [wgpu::BindGroup; 2],
    /// Which buffer this frame's compute pass writes (and its draw reads).
    write: usize,
    count: u32,
    frame: u32,
    /// Draw each particle with a trail (ludicrous speed).
    streak: bool,
}

impl ParticlesPipeline {
    pub fn new(
        device: &wgpu::Device,
        format: wgpu::TextureFormat,
        globals_buf: &wgpu::Buffer,
        count: u32,
    ) -> Self {
        let shader = super::shaders::shader_module(device, "particles");
        let layouts = Layouts::new(device);
        let params_buf = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("particle params"),
            size: std::mem::size_of::<ParticleParams>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        // A pool of 0 turns particles off (buffers keep a minimum size). The shader reads the
        // pool's length, so the pools are exactly this size. wgpu zero-initialises buffers: every
        // particle starts dead.
        let size = count.max(1) as u64 * std::mem::size_of::<Particle>() as u64;
        let pools = [0, 1].map(|i| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(if i == 0 { "particles a" } else { "particles b" }),
                size,
                usage: wgpu::BufferUsages::STORAGE,
                mapped_at_creation: false,
            })
        });
        let bind0 = bind_group(
            device,
            "particles globals",
            &layouts.params,
            &[globals_buf, &params_buf],
        );
        // compute_binds[k] writes pool k; render_binds[k] reads pool k.
        let compute_binds = [
            bind_group(
                device,
                "particles compute",
                &layouts.compute,
                &[&pools[1], &pools[0]],
            ),
            bind_group(
                device,
                "particles compute",
                &layouts.compute,
                &[&pools[0], &pools[1]],
            ),
        ];
        let render_binds =
            [0, 1].map(|k| bind_group(device, "particles draw", &layouts.draw, &[&pools[k]]));
        let (compute, render) = pipelines(device, format, &shader, &layouts);
        ParticlesPipeline {
            compute,
            render,
            params_buf,
            bind0,
            compute_binds,
            render_binds,
            write: 0,
            count,
            frame: 0,
            streak: false,
        }
    }

    /// The per-frame emission uniform.
    pub fn set_params(&mut self, queue: &wgpu::Queue, p: &Particles<'_>) {
        let mut rects = [[0.0f32; 4]; MAX_SOURCES];
        let n = p.sources.len().min(MAX_SOURCES);
        rects[..n].copy_from_slice(&p.sources[..n]);
        self.frame = self.frame.wrapping_add(1);
        self.streak = p.streak;
        let params = ParticleParams {
            die: p.die,
            count: self.count,
            sources: n as u32,
            frame: self.frame,
            _p0: 0,
            emit: p.emit.clamp(0.0, 1.0),
            dt: p.dt.clamp(0.0, 0.25),
            travel: p.travel.max(0.01),
            streak: if p.streak { 1.0 } else { 0.0 },
            rects,
        };
        queue.write_buffer(&self.params_buf, 0, bytemuck::bytes_of(&params));
    }

    /// Particles in the pool.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The next frame moves the pool on from the buffer the last one wrote.
    pub fn advance(&mut self) {
        self.write = 1 - self.write;
    }

    /// Moves the pool one frame (compute pass) into the buffer of this frame.
    pub fn compute(&self, encoder: &mut wgpu::CommandEncoder) {
        if self.count == 0 {
            return;
        }
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("particles"),
            timestamp_writes: None,
        });
        pass.set_pipeline(&self.compute);
        pass.set_bind_group(0, &self.bind0, &[]);
        pass.set_bind_group(1, &self.compute_binds[self.write], &[]);
        pass.dispatch_workgroups(self.count.div_ceil(WORKGROUP_SIZE), 1, 1);
    }

    /// Draws the buffer this frame's compute pass wrote.
    pub fn draw(&self, pass: &mut wgpu::RenderPass<'_>) {
        if self.count == 0 {
            return;
        }
        pass.set_pipeline(&self.render);
        pass.set_bind_group(0, &self.bind0, &[]);
        pass.set_bind_group(1, &self.render_binds[self.write], &[]);
        let copies = if self.streak { 2 } else { 1 };
        pass.draw(0..self.count * copies, 0..1);
    }
}
