//! kvscope: how LLM inference fills GPU memory with the KV cache.
//!
//! Data flows one way: `catalog` -> `calc::Report` -> (`sim` -> `layout` -> `render`). The binary in
//! `main.rs` only parses the command line (`cli`) and dispatches.

pub mod app;
pub mod calc;
pub mod catalog;
pub mod cli;
pub mod layout;
pub mod render;
pub mod sim;
