//! A scene and the renderer that draws it: what the window and the headless session share. Each
//! frame the scene's view is brought up to date from the simulation's state and the renderer
//! prepares its frame data; recording the frame is the renderer's `render`.

use crate::frame::Target;
use crate::render::{GpuContext, PrepareStats, Renderer};
use crate::scenes::{SceneId, SceneView, UpdateStats};

pub struct Host {
    scene: SceneView,
    renderer: Renderer,
}

impl Host {
    /// Scene `id` drawn by `renderer`.
    pub fn new(renderer: Renderer, id: SceneId) -> Host {
        Host {
            scene: SceneView::new(id),
            renderer,
        }
    }

    /// Brings the scene up to date for the simulation's `state` on `target` at `time` seconds of
    /// animation, and uploads what changed.
    pub fn prepare(
        &mut self,
        ctx: &GpuContext,
        state: &crate::sim::Scene,
        target: Target,
        time: f32,
    ) -> (UpdateStats, PrepareStats) {
        let updated = self.scene.update(state, target, time);
        let prepared = self
            .renderer
            .prepare(&ctx.device, &ctx.queue, &self.scene.frame());
        (updated, prepared)
    }

    /// Records the prepared frame into `view` (of `texture`).
    pub fn render(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        texture: &wgpu::Texture,
        view: &wgpu::TextureView,
    ) {
        self.renderer.render(encoder, texture, view);
    }

    /// Records the prepared frame into `view`; `retained`: it still holds the last frame
    /// recorded into it. Returns the rectangles that changed (None: all of it).
    pub fn render_onto(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        texture: &wgpu::Texture,
        view: &wgpu::TextureView,
        retained: bool,
    ) -> Option<&[crate::frame::PxRect]> {
        self.renderer.render_onto(encoder, texture, view, retained)
    }

    /// Shows scene `id` from the next frame on, with a fresh view of it (the renderer uploads all
    /// of its frame data, whose revisions it has not seen).
    pub fn switch_scene(&mut self, id: SceneId) {
        self.scene = SceneView::new(id);
    }

    pub fn scene(&self) -> &SceneView {
        &self.scene
    }

    pub fn scene_mut(&mut self) -> &mut SceneView {
        &mut self.scene
    }

    pub fn renderer(&self) -> &Renderer {
        &self.renderer
    }

    pub fn renderer_mut(&mut self) -> &mut Renderer {
        &mut self.renderer
    }
}
