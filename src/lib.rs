//! kvscope: how LLM inference fills GPU memory with the KV cache.
//!
//! Data flows one way: `catalog` -> `calc::Report` -> `sim::Scene` -> `scenes::<scene>` (layout +
//! view) -> `frame::FrameData` -> `render` -> GPU. `ui` holds what every scene shares; `app` hosts
//! a scene in a window or headless. The binary in `main.rs` only parses the command line (`cli`)
//! and dispatches.

pub mod app;
pub mod calc;
pub mod catalog;
pub mod cli;
pub mod frame;
pub mod render;
pub mod scenes;
pub mod sim;
pub mod ui;
