//! Background waves: `WAVES` thin triangle strips computed in the vertex shader (no full-screen
//! pass, which is the expensive thing on a software adapter).

use crate::frame::contract::{WAVES, WAVE_SEGMENTS};

pub struct WavesPipeline {
    pipeline: wgpu::RenderPipeline,
}

impl WavesPipeline {
    pub fn new(
        device: &wgpu::Device,
        format: wgpu::TextureFormat,
        globals: &wgpu::BindGroupLayout,
    ) -> Self {
        let pipeline = globals_only(
            device,
            format,
            globals,
            "waves",
            wgpu::PrimitiveTopology::TriangleStrip,
            Some(wgpu::BlendState::ALPHA_BLENDING),
        );
        WavesPipeline { pipeline }
    }

    pub fn draw(&self, pass: &mut wgpu::RenderPass<'_>, globals: &wgpu::BindGroup) {
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, globals, &[]);
        pass.draw(0..2 * (WAVE_SEGMENTS + 1), 0..WAVES);
    }
}

/// A pipeline of shader `name` that reads only the globals and no vertex buffer.
fn globals_only(
    device: &wgpu::Device,
    format: wgpu::TextureFormat,
    globals: &wgpu::BindGroupLayout,
    name: &'static str,
    topology: wgpu::PrimitiveTopology,
    blend: Option<wgpu::BlendState>,
) -> wgpu::RenderPipeline {
    let shader = super::shaders::shader_module(device, name);
    super::shaders::render_pipeline(
        device,
        format,
        super::shaders::PipelineSpec {
            label: name,
            shader: &shader,
            groups: &[Some(globals)],
            buffers: &[],
            topology,
            blend,
        },
    )
}

/// The background over the scissored part of a target (`shaders/fill.wgsl`).
pub struct FillPipeline {
    pipeline: wgpu::RenderPipeline,
}

impl FillPipeline {
    pub fn new(
        device: &wgpu::Device,
        format: wgpu::TextureFormat,
        globals: &wgpu::BindGroupLayout,
    ) -> Self {
        let topology = wgpu::PrimitiveTopology::TriangleList;
        let pipeline = globals_only(device, format, globals, "fill", topology, None);
        FillPipeline { pipeline }
    }

    pub fn draw(&self, pass: &mut wgpu::RenderPass<'_>, globals: &wgpu::BindGroup) {
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, globals, &[]);
        pass.draw(0..3, 0..1);
    }
}

/// Marks where the waves draw this frame (the shape `shaders/waves.wgsl` computes, mirrored here;
/// `tests/render.rs` checks a frame brought up to date by damage against one drawn whole).
/// `screen` is the logical size and `scale` physical px per logical px.
pub fn mark_footprint(
    tiles: &mut super::damage::Tiles,
    screen: glam::Vec2,
    scale: f32,
    time: f32,
    pressure: f32,
) {
    use super::damage::TILE;
    use std::f32::consts::TAU;
    let (w, _) = tiles.size();
    if screen.x <= 0.0 || screen.y <= 0.0 || scale <= 0.0 {
        return;
    }
    // A strip between two vertices is a chord: reach one segment beyond each column.
    let seg = screen.x / WAVE_SEGMENTS as f32;
    // Rounding of the GPU's sine and of pixel coverage.
    let margin = 3.0;
    for wave in 0..WAVES {
        let wv = wave as f32;
        let speed = 0.25 + 1.5 * pressure;
        let base = screen.y * (0.55 + 0.12 * wv);
        let amp = screen.y * (0.035 + 0.015 * wv) * (1.0 + pressure);
        let k = TAU / screen.x * (1.2 + 0.6 * wv);
        let phase = time * speed * (1.0 + 0.3 * wv) + wv * 1.7;
        let thickness = screen.y * 0.008 * (1.0 + 0.5 * wv);
        for c in 0..w.div_ceil(TILE) {
            let x0 = (c * TILE) as f32 / scale - seg;
            let x1 = ((c + 1) * TILE) as f32 / scale + seg;
            let (lo, hi) = sine_range(k * x0 + phase, k * x1 + phase);
            let y0 = (base + amp * lo) * scale;
            let y1 = (base + amp * hi + thickness) * scale;
            tiles.mark_f([(c * TILE) as f32, y0, TILE as f32 - 1.0, y1 - y0], margin);
        }
    }
}

/// The least and greatest sine over angles `a..b` (a <= b).
fn sine_range(a: f32, b: f32) -> (f32, f32) {
    use std::f32::consts::{FRAC_PI_2, TAU};
    let (sa, sb) = (a.sin(), b.sin());
    let mut lo = sa.min(sb);
    let mut hi = sa.max(sb);
    // A crest (pi/2 + 2 pi n) or a trough (-pi/2 + 2 pi n) inside the interval.
    let has = |at: f32| ((a - at) / TAU).ceil() <= ((b - at) / TAU).floor();
    if has(FRAC_PI_2) {
        hi = 1.0;
    }
    if has(-FRAC_PI_2) {
        lo = -1.0;
    }
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::sine_range;

    #[test]
    fn sine_ranges_find_crests_and_troughs() {
        // 0..0.5: rising, no crest.
        let (lo, hi) = sine_range(0.0, 0.5);
        assert!((lo - 0.0).abs() < 1e-6 && (hi - 0.5f32.sin()).abs() < 1e-6);
        // 1..2 holds pi/2.
        assert_eq!(sine_range(1.0, 2.0).1, 1.0);
        // 4..5 holds 3 pi / 2 (a trough), 100 + 2 pi n too.
        assert_eq!(sine_range(4.0, 5.0).0, -1.0);
        let t = 3.0 * std::f32::consts::FRAC_PI_2 + 16.0 * std::f32::consts::PI;
        assert_eq!(sine_range(t - 0.1, t + 0.1).0, -1.0);
    }
}
