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
        let shader = super::shaders::shader_module(device, "waves");
        let pipeline = super::shaders::render_pipeline(
            device,
            format,
            super::shaders::PipelineSpec {
                label: "waves",
                shader: &shader,
                groups: &[Some(globals)],
                buffers: &[],
                topology: wgpu::PrimitiveTopology::TriangleStrip,
                blend: Some(wgpu::BlendState::ALPHA_BLENDING),
            },
        );
        WavesPipeline { pipeline }
    }

    pub fn draw(&self, pass: &mut wgpu::RenderPass<'_>, globals: &wgpu::BindGroup) {
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, globals, &[]);
        pass.draw(0..2 * (WAVE_SEGMENTS + 1), 0..WAVES);
    }
}
