//! The GPU memory scene: a die amid its memory packages, each a grid of banks that fill with
//! weights, sequences, reservations and attention scores as the simulation runs, and the panels
//! that explain it. `layout` places everything in logical pixels, `map` cuts memory into banks,
//! `banks` puts the banks on the packages, `shapes` tessellates the chrome, `panels` writes the
//! text, and `view` turns it all into frame data.

pub mod banks;
pub mod layout;
pub mod map;
pub mod panels;
pub mod shapes;
pub mod view;

pub use layout::{Layout, PanelKind};
pub use map::MemoryMap;
pub use view::View;
