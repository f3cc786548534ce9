//! The shapes pipeline: tessellated meshes (`frame::Mesh`) in two layers, under and over the banks,
//! uploaded when the scene revises them and animated only through the globals.

use super::buffer::GpuBuffer;
use super::gpu::SHAPE_VERTEX_ATTRIBUTES;
use crate::frame::{Mesh, ShapeVertex};

pub struct ShapesPipeline {
    pipeline: wgpu::RenderPipeline,
    vertices: GpuBuffer<ShapeVertex>,
    indices: GpuBuffer<u32>,
    under: std::ops::Range<u32>,
    over: std::ops::Range<u32>,
}

impl ShapesPipeline {
    pub fn new(
        device: &wgpu::Device,
        format: wgpu::TextureFormat,
        globals: &wgpu::BindGroupLayout,
    ) -> Self {
        let shader = super::shaders::shader_module(device, "shapes");
        let pipeline = super::shaders::render_pipeline(
            device,
            format,
            super::shaders::PipelineSpec {
                label: "shapes",
                shader: &shader,
                groups: &[Some(globals)],
                buffers: &[Some(wgpu::VertexBufferLayout {
                    array_stride: std::mem::size_of::<ShapeVertex>() as u64,
                    step_mode: wgpu::VertexStepMode::Vertex,
                    attributes: &SHAPE_VERTEX_ATTRIBUTES,
                })],
                topology: wgpu::PrimitiveTopology::TriangleList,
                blend: Some(wgpu::BlendState::ALPHA_BLENDING),
            },
        );
        ShapesPipeline {
            pipeline,
            vertices: GpuBuffer::new(device, "shape vertices", wgpu::BufferUsages::VERTEX, 1),
            indices: GpuBuffer::new(device, "shape indices", wgpu::BufferUsages::INDEX, 1),
            under: 0..0,
            over: 0..0,
        }
    }

    pub fn upload(&mut self, device: &wgpu::Device, queue: &wgpu::Queue, mesh: &Mesh) {
        self.vertices.write(device, queue, &mesh.vertices);
        self.indices.write(device, queue, &mesh.indices);
        if mesh.indices.is_empty() {
            self.under = 0..0;
            self.over = 0..0;
        } else {
            self.under = mesh.under.clone();
            self.over = mesh.over.clone();
        }
    }

    pub fn draw(&self, pass: &mut wgpu::RenderPass<'_>, globals: &wgpu::BindGroup, over: bool) {
        let range = if over {
            self.over.clone()
        } else {
            self.under.clone()
        };
        if range.is_empty() {
            return;
        }
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, globals, &[]);
        pass.set_vertex_buffer(0, self.vertices.slice());
        pass.set_index_buffer(self.indices.slice(), wgpu::IndexFormat::Uint32);
        pass.draw_indexed(range, 0, 0..1);
    }
}
