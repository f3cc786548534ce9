//! What every scene shares, with no wgpu in it: geometry in logical pixels (`geom`) and the
//! colours (`palette`). Controls, hit-testing, hover and the help overlay will live here.

pub mod geom;
pub mod palette;

pub use geom::Rect;
