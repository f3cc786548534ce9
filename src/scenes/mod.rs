//! Scenes: each a way of showing the simulation, in its own folder with its layout (geometry in
//! logical pixels from the window's size, scale factor and the state), its view (state to
//! wgpu-free `frame::FrameData`) and its panels' text. Scenes know nothing of wgpu. The app hosts
//! one `SceneView` at a time and can switch to another.

pub mod memory;

use crate::frame::{FrameData, Target};
use crate::sim::Scene;

/// The scenes there are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SceneId {
    /// The GPU memory scene.
    Memory,
}

/// The scene being shown, with its long-lived view state.
pub enum SceneView {
    Memory(Box<memory::View>),
}

/// What an update redid (for measurements and tests).
pub type UpdateStats = memory::view::UpdateStats;

impl SceneView {
    /// A fresh view of scene `id`.
    pub fn new(id: SceneId) -> SceneView {
        match id {
            SceneId::Memory => SceneView::Memory(Box::default()),
        }
    }

    /// Brings the frame data up to date for the simulation's state `state` on `target` at `time`
    /// seconds of animation.
    pub fn update(&mut self, state: &Scene, target: Target, time: f32) -> UpdateStats {
        match self {
            SceneView::Memory(v) => v.update(state, target, time),
        }
    }

    /// The frame data of the last update.
    pub fn frame(&self) -> FrameData<'_> {
        match self {
            SceneView::Memory(v) => v.frame(),
        }
    }

    /// The next update brings every text up to date at once (before a screenshot).
    pub fn force_text_update(&mut self) {
        match self {
            SceneView::Memory(v) => v.force_text_update(),
        }
    }

    /// The memory scene's view, when it is the one shown.
    pub fn memory(&self) -> Option<&memory::View> {
        match self {
            SceneView::Memory(v) => Some(v),
        }
    }
}
