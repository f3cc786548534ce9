//! The KV cache calculator: pure functions from (model, device, workload) to bytes.
//! No wgpu, no winit, no time and no pixels. Every number kvscope shows comes from here.

pub mod dtype;
pub mod engine;
pub mod model;
pub mod report;
pub mod tables;
pub mod text;
pub mod units;

pub use dtype::Dtype;
pub use engine::Engine;
pub use model::{Attention, Layer, Model, Params, Published, WeightFormat};
pub use report::{report, Device, Policy, Report, Workload, BLOCK_TOKENS, DEFAULT_GPU_UTIL};
