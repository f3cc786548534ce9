//! Compute-shader particles: a fixed pool in two storage buffers updated by a compute pass
//! (ping-pong), drawn as points. Data flowing between memory and die, at a rate that follows the bytes
//! each decode step moves. Nothing allocates per frame; the CPU writes one small uniform.

use crate::layout::Layout;
use bytemuck::{Pod, Zeroable};

/// Pool sizes per tier: a software adapter pays per point.
pub const POOL_SOFTWARE: u32 = 4_000;
pub const POOL_GPU: u32 = 1_000_000;
pub const MAX_SOURCES: usize = 96;

/// The pool for an adapter.
pub fn pool_for(software: bool) -> u32 {
    if software {
        POOL_SOFTWARE
    } else {
        POOL_GPU
    }
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct Particle {
    pub pos: [f32; 2],
    pub vel: [f32; 2],
    pub life: f32,
    pub max_life: f32,
    pub kind: f32,
    pub _pad: f32,
}
const _: () = assert!(std::mem::size_of::<Particle>() == 32);

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct Params {
    pub die: [f32; 4],
    pub count: u32,
    pub sources: u32,
    pub frame: u32,
    pub _p0: u32,
    pub emit: f32,
    pub dt: f32,
    pub travel: f32,
    pub streak: f32,
    pub rects: [[f32; 4]; MAX_SOURCES],
}
const _: () = assert!(std::mem::size_of::<Params>() == 48 + 16 * MAX_SOURCES);

pub struct ParticlesPipeline {
    compute: wgpu::ComputePipeline,
    render: wgpu::RenderPipeline,
    params_buf: wgpu::Buffer,
    bind0: wgpu::BindGroup,
    compute_binds: [wgpu::BindGroup; 2],
    render_binds: [wgpu::BindGroup; 2],
    /// Which buffer the next compute pass writes.
    flip: usize,
    pub count: u32,
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
        let shader = super::shader_module(device, "particles");
        let uniform = |binding, visibility| wgpu::BindGroupLayoutEntry {
            binding,
            visibility,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let storage = |binding, visibility, read_only| wgpu::BindGroupLayoutEntry {
            binding,
            visibility,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage { read_only },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let all = wgpu::ShaderStages::VERTEX_FRAGMENT | wgpu::ShaderStages::COMPUTE;
        let layout0 = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("particles globals"),
            entries: &[uniform(0, all), uniform(1, wgpu::ShaderStages::COMPUTE)],
        });
        let layout_c = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("particles compute"),
            entries: &[
                storage(0, wgpu::ShaderStages::COMPUTE, true),
                storage(1, wgpu::ShaderStages::COMPUTE, false),
            ],
        });
        let layout_r = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("particles draw"),
            entries: &[storage(0, wgpu::ShaderStages::VERTEX, true)],
        });
        let params_buf = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("particle params"),
            size: std::mem::size_of::<Params>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        // A pool of 0 turns particles off (buffers keep a minimum size).
        let size = count.max(1) as u64 * std::mem::size_of::<Particle>() as u64;
        // wgpu zero-initialises buffers: every particle starts dead.
        let bufs = [0, 1].map(|i| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(if i == 0 { "particles a" } else { "particles b" }),
                size,
                usage: wgpu::BufferUsages::STORAGE,
                mapped_at_creation: false,
            })
        });
        let bind0 = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("particles globals"),
            layout: &layout0,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: globals_buf.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: params_buf.as_entire_binding(),
                },
            ],
        });
        let compute_bind = |src: &wgpu::Buffer, dst: &wgpu::Buffer| {
            device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("particles compute"),
                layout: &layout_c,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: src.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: dst.as_entire_binding(),
                    },
                ],
            })
        };
        let render_bind = |b: &wgpu::Buffer| {
            device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("particles draw"),
                layout: &layout_r,
                entries: &[wgpu::BindGroupEntry {
                    binding: 0,
                    resource: b.as_entire_binding(),
                }],
            })
        };
        // compute_binds[k] writes buffer k; render_binds[k] reads buffer k.
        let compute_binds = [
            compute_bind(&bufs[1], &bufs[0]),
            compute_bind(&bufs[0], &bufs[1]),
        ];
        let render_binds = [render_bind(&bufs[0]), render_bind(&bufs[1])];
        let cl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("particles compute"),
            bind_group_layouts: &[Some(&layout0), Some(&layout_c)],
            immediate_size: 0,
        });
        let compute = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("particles"),
            layout: Some(&cl),
            module: &shader,
            entry_point: Some("cs_main"),
            compilation_options: Default::default(),
            cache: None,
        });
        let render = super::render_pipeline(
            device,
            format,
            super::PipelineSpec {
                label: "particles",
                shader: &shader,
                groups: &[Some(&layout0), Some(&layout_r)],
                buffers: &[],
                topology: wgpu::PrimitiveTopology::PointList,
                blend: Some(wgpu::BlendState::ALPHA_BLENDING),
            },
        );
        ParticlesPipeline {
            compute,
            render,
            params_buf,
            bind0,
            compute_binds,
            render_binds,
            flip: 0,
            count,
            frame: 0,
            streak: false,
        }
    }

    /// The per-frame emission uniform: where particles come from and go, how many, how fast.
    pub fn set_params(
        &mut self,
        queue: &wgpu::Queue,
        l: &Layout,
        emit: f32,
        dt: f32,
        travel: f32,
        streak: bool,
    ) {
        let mut rects = [[0.0f32; 4]; MAX_SOURCES];
        let mut n = 0;
        for m in l.modules.iter().filter(|m| m.active) {
            if n == MAX_SOURCES {
                break;
            }
            rects[n] = [m.inner.x, m.inner.y, m.inner.w, m.inner.h];
            n += 1;
        }
        self.frame = self.frame.wrapping_add(1);
        self.streak = streak;
        let p = Params {
            die: [l.die.x, l.die.y, l.die.w, l.die.h],
            count: self.count,
            sources: n as u32,
            frame: self.frame,
            _p0: 0,
            emit: emit.clamp(0.0, 1.0),
            dt: dt.clamp(0.0, 0.25),
            travel: travel.max(0.01),
            streak: if streak { 1.0 } else { 0.0 },
            rects,
        };
        queue.write_buffer(&self.params_buf, 0, bytemuck::bytes_of(&p));
    }

    /// Moves the pool one frame (compute pass).
    pub fn compute(&mut self, encoder: &mut wgpu::CommandEncoder) {
        if self.count == 0 {
            return;
        }
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("particles"),
            timestamp_writes: None,
        });
        pass.set_pipeline(&self.compute);
        pass.set_bind_group(0, &self.bind0, &[]);
        pass.set_bind_group(1, &self.compute_binds[self.flip], &[]);
        pass.dispatch_workgroups(self.count.div_ceil(64), 1, 1);
        drop(pass);
        self.flip = 1 - self.flip;
    }

    /// Draws the buffer the last compute pass wrote.
    pub fn draw(&self, pass: &mut wgpu::RenderPass<'_>) {
        if self.count == 0 {
            return;
        }
        pass.set_pipeline(&self.render);
        pass.set_bind_group(0, &self.bind0, &[]);
        pass.set_bind_group(1, &self.render_binds[1 - self.flip], &[]);
        let copies = if self.streak { 2 } else { 1 };
        pass.draw(0..self.count * copies, 0..1);
    }
}
