//! wgpu rendering, scene-agnostic: it draws a `frame::FrameData` and imports no scene, no
//! simulation and no calculator. One job per file: the context (`context`: instance, adapter,
//! device), the GPU-side types (`gpu`), the shader table (`shaders`), growable buffers (`buffer`),
//! the static (cached) layer (`static_layer`), the renderer that prepares a frame and records it
//! (`renderer`), one module per pipeline (`banks`, `shapes`, `waves`, `particles`, `text`),
//! offscreen targets (`offscreen`) and reading frames back (`readback`).

pub mod banks;
pub mod buffer;
pub mod context;
pub mod damage;
pub mod gpu;
pub mod offscreen;
pub mod particles;
pub mod readback;
pub mod renderer;
pub mod shaders;
pub mod shapes;
pub mod static_layer;
pub mod text;
pub mod waves;

pub use context::{GpuContext, RenderError};
pub use renderer::{PrepareStats, Renderer};
pub use shaders::{shader_source, SHADERS};
