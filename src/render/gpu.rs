//! The GPU-side types the shaders read, `#[repr(C)]` and `Pod` with explicit padding and their
//! sizes checked at compile time (and against the WGSL by tests/shaders.rs), and the vertex layouts
//! of the frame hand-off's instance and vertex types.

use crate::frame::contract::{MAX_SOURCES, PALETTE_SLOTS};
use crate::frame::{BankGrid, ShapeVertex, Uniforms};
use bytemuck::{Pod, Zeroable};

/// The per-frame uniform every pipeline reads (`Globals` in shaders/common.wgsl).
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
    pub palette: [[f32; 4]; PALETTE_SLOTS],
}
pub const GLOBALS_SIZE: usize = 48 + 16 * PALETTE_SLOTS;
const _: () = assert!(std::mem::size_of::<Globals>() == GLOBALS_SIZE);

impl Globals {
    pub fn new(u: &Uniforms, palette: &[[f32; 4]; PALETTE_SLOTS]) -> Globals {
        Globals {
            screen: u.screen.to_array(),
            time: u.time,
            scale: u.scale,
            dot: u.dot.to_array(),
            bank_size: u.bank_size,
            pressure: u.pressure,
            flash: if u.flash { 1.0 } else { 0.0 },
            progress: u.progress,
            bank_pitch: u.bank_pitch,
            _pad: 0.0,
            palette: *palette,
        }
    }
}

/// One particle of the pool (`Particle` in shaders/particles.wgsl).
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

/// The particles' emission uniform (`Params` in shaders/particles.wgsl).
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct ParticleParams {
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
const _: () = assert!(std::mem::size_of::<ParticleParams>() == 48 + 16 * MAX_SOURCES);

/// `BankGrid` as a per-instance vertex buffer (`Instance` in shaders/banks.wgsl).
pub const BANK_GRID_ATTRIBUTES: [wgpu::VertexAttribute; 5] = wgpu::vertex_attr_array![
    0 => Float32x2, 1 => Uint32, 2 => Uint32, 3 => Uint32, 4 => Uint32
];
const _: () = assert!(std::mem::size_of::<BankGrid>() == 32);

/// `ShapeVertex` as a vertex buffer (`Vertex` in shaders/shapes.wgsl).
pub const SHAPE_VERTEX_ATTRIBUTES: [wgpu::VertexAttribute; 4] =
    wgpu::vertex_attr_array![0 => Float32x2, 1 => Float32x4, 2 => Uint32, 3 => Float32];
const _: () = assert!(std::mem::size_of::<ShapeVertex>() == 32);
