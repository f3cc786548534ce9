//! The shapes pipeline: tessellated meshes (`frame::Mesh`) in two layers, under and over the banks,
//! uploaded when the scene revises them and animated only through the globals.

use super::buffer::GpuBuffer;
use super::gpu::SHAPE_VERTEX_ATTRIBUTES;
use crate::frame::contract::ANIM_DOT;
use crate::frame::{Mesh, ShapeVertex};

pub struct ShapesPipeline {
    pipeline: wgpu::RenderPipeline,
    vertices: GpuBuffer<ShapeVertex>,
    indices: GpuBuffer<u32>,
    under: std::ops::Range<u32>,
    over: std::ops::Range<u32>,
    /// Where the layer over the banks draws (logical px): its fixed vertices, and the vertices
    /// that follow the attention dot (relative to it).
    over_bounds: Option<[f32; 4]>,
    dot_bounds: Option<[f32; 4]>,
    /// The layer under the banks as triangles (a hash of their vertices, and their bounds),
    /// sorted by hash: what a new mesh is compared with.
    under_tris: Vec<(u64, [f32; 4])>,
    /// A fresh mesh's triangles (kept to reuse their storage).
    new_tris: Vec<(u64, [f32; 4])>,
}

/// The triangles of `mesh` in index range `range`: a hash of each one's vertices and its bounds,
/// sorted by hash, into `out`.
fn triangles(mesh: &Mesh, range: std::ops::Range<u32>, out: &mut Vec<(u64, [f32; 4])>) {
    use std::hash::{Hash, Hasher};
    out.clear();
    let idx = &mesh.indices[range.start as usize..range.end as usize];
    for tri in idx.chunks_exact(3) {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        let mut pts = [glam::Vec2::ZERO; 3];
        for (p, &i) in pts.iter_mut().zip(tri) {
            let v = mesh
                .vertices
                .get(i as usize)
                .copied()
                .unwrap_or(bytemuck::Zeroable::zeroed());
            bytemuck::bytes_of(&v).hash(&mut hasher);
            *p = v.pos;
        }
        if let Some(b) = bounds(pts.into_iter()) {
            out.push((hasher.finish(), b));
        }
    }
    out.sort_unstable_by_key(|t| t.0);
}

/// Bounds of the triangles in one sorted list and not the other (as multisets), into `out`.
fn differences(a: &[(u64, [f32; 4])], b: &[(u64, [f32; 4])], out: &mut Vec<[f32; 4]>) {
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x.0 == y.0 => {
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x.0 < y.0 => {
                out.push(x.1);
                i += 1;
            }
            (Some(x), None) => {
                out.push(x.1);
                i += 1;
            }
            (_, Some(y)) => {
                out.push(y.1);
                j += 1;
            }
            (None, None) => break,
        }
    }
}

/// The bounding box (x, y, w, h) of `points`.
fn bounds(points: impl Iterator<Item = glam::Vec2>) -> Option<[f32; 4]> {
    let mut lo = glam::Vec2::splat(f32::INFINITY);
    let mut hi = glam::Vec2::splat(f32::NEG_INFINITY);
    for p in points {
        lo = lo.min(p);
        hi = hi.max(p);
    }
    (lo.x <= hi.x).then_some([lo.x, lo.y, hi.x - lo.x, hi.y - lo.y])
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
            over_bounds: None,
            dot_bounds: None,
            under_tris: Vec::new(),
            new_tris: Vec::new(),
        }
    }

    /// Uploads `mesh`. Returns where its layer under the banks differs from the last mesh's
    /// (logical bounds of the triangles one has and the other lacks, into `changed`), false when
    /// there was no mesh before.
    pub fn upload(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        mesh: &Mesh,
        changed: &mut Vec<[f32; 4]>,
    ) -> bool {
        self.vertices.write(device, queue, &mesh.vertices);
        self.indices.write(device, queue, &mesh.indices);
        if mesh.indices.is_empty() {
            self.under = 0..0;
            self.over = 0..0;
        } else {
            self.under = mesh.under.clone();
            self.over = mesh.over.clone();
        }
        let over = || {
            let idx = &mesh.indices[self.over.start as usize..self.over.end as usize];
            idx.iter().filter_map(|&i| mesh.vertices.get(i as usize))
        };
        self.over_bounds = bounds(over().filter(|v| v.anim != ANIM_DOT).map(|v| v.pos));
        self.dot_bounds = bounds(over().filter(|v| v.anim == ANIM_DOT).map(|v| v.pos));
        let had = !self.under_tris.is_empty();
        let mut fresh = std::mem::take(&mut self.new_tris);
        triangles(mesh, self.under.clone(), &mut fresh);
        changed.clear();
        differences(&self.under_tris, &fresh, changed);
        self.new_tris = std::mem::replace(&mut self.under_tris, fresh);
        had
    }

    /// Where the layer over the banks draws this frame, logical px (x, y, w, h), with the
    /// attention dot at `dot`.
    pub fn over_footprint(&self, dot: glam::Vec2) -> [Option<[f32; 4]>; 2] {
        let dot = self
            .dot_bounds
            .map(|b| [b[0] + dot.x, b[1] + dot.y, b[2], b[3]]);
        [self.over_bounds, dot]
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

#[cfg(test)]
mod tests {
    use super::*;

    fn quad(x: f32, color: f32) -> [ShapeVertex; 3] {
        let v = |px: f32, py: f32| ShapeVertex {
            pos: glam::Vec2::new(px, py),
            color: [color, 0.0, 0.0, 1.0],
            anim: 0,
            phase: 0.0,
        };
        [v(x, 0.0), v(x + 10.0, 0.0), v(x, 10.0)]
    }

    fn mesh(tris: &[[ShapeVertex; 3]]) -> Mesh {
        let vertices: Vec<ShapeVertex> = tris.iter().flatten().copied().collect();
        let n = vertices.len() as u32;
        Mesh {
            vertices,
            indices: (0..n).collect(),
            under: 0..n,
            over: n..n,
        }
    }

    #[test]
    fn only_triangles_that_changed_are_reported() {
        let old = mesh(&[quad(0.0, 0.5), quad(100.0, 0.5), quad(200.0, 0.5)]);
        // The middle triangle changes colour, the last moves, one is added.
        let new = mesh(&[
            quad(0.0, 0.5),
            quad(100.0, 0.9),
            quad(250.0, 0.5),
            quad(0.0, 0.5),
        ]);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        triangles(&old, old.under.clone(), &mut a);
        triangles(&new, new.under.clone(), &mut b);
        let mut out = Vec::new();
        differences(&a, &b, &mut out);
        let mut xs: Vec<f32> = out.iter().map(|r| r[0]).collect();
        xs.sort_by(f32::total_cmp);
        // Old and new colour at 100, old and new place (200, 250), the second copy at 0.
        assert_eq!(xs, vec![0.0, 100.0, 100.0, 200.0, 250.0]);
        assert!(out.iter().all(|r| r[2] == 10.0 && r[3] == 10.0));
        out.clear();
        differences(&a, &a, &mut out);
        assert!(out.is_empty());
    }
}
