//! The shader table: each pipeline's WGSL is the contract's constants (written here from
//! `frame::contract`), shaders/common.wgsl, then its own file; and the one way render pipelines are
//! built from them.

use crate::frame::contract;

/// Names of the pipelines with WGSL, as their files in shaders/ are named.
pub const SHADERS: [&str; 5] = ["banks", "shapes", "waves", "particles", "fill"];

/// The contract's constants as WGSL declarations.
pub fn prelude() -> String {
    let mut s = String::from("// Written by render::shaders from frame::contract.\n");
    for (name, value) in contract::WGSL_U32 {
        s.push_str(&format!("const {name}: u32 = {value}u;\n"));
    }
    s
}

/// A pipeline's own WGSL file; None for a name that is not a pipeline.
fn own_source(name: &str) -> Option<&'static str> {
    Some(match name {
        "banks" => include_str!("../../shaders/banks.wgsl"),
        "shapes" => include_str!("../../shaders/shapes.wgsl"),
        "waves" => include_str!("../../shaders/waves.wgsl"),
        "particles" => include_str!("../../shaders/particles.wgsl"),
        "fill" => include_str!("../../shaders/fill.wgsl"),
        _ => return None,
    })
}

/// A pipeline's whole WGSL: the prelude, common.wgsl and its own file. Empty for an unknown name.
pub fn shader_source(name: &str) -> String {
    match own_source(name) {
        Some(own) => format!(
            "{}{}{}",
            prelude(),
            include_str!("../../shaders/common.wgsl"),
            own
        ),
        None => String::new(),
    }
}

/// The module of a pipeline's WGSL.
pub(crate) fn shader_module(device: &wgpu::Device, name: &'static str) -> wgpu::ShaderModule {
    device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(name),
        source: wgpu::ShaderSource::Wgsl(shader_source(name).into()),
    })
}

/// What differs between the render pipelines (all use `vs_main` and `fs_main`, one colour target).
pub(crate) struct PipelineSpec<'a> {
    pub label: &'static str,
    pub shader: &'a wgpu::ShaderModule,
    pub groups: &'a [Option<&'a wgpu::BindGroupLayout>],
    pub buffers: &'a [Option<wgpu::VertexBufferLayout<'a>>],
    pub topology: wgpu::PrimitiveTopology,
    pub blend: Option<wgpu::BlendState>,
}

pub(crate) fn render_pipeline(
    device: &wgpu::Device,
    format: wgpu::TextureFormat,
    spec: PipelineSpec<'_>,
) -> wgpu::RenderPipeline {
    let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(spec.label),
        bind_group_layouts: spec.groups,
        immediate_size: 0,
    });
    device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some(spec.label),
        layout: Some(&layout),
        vertex: wgpu::VertexState {
            module: spec.shader,
            entry_point: Some("vs_main"),
            compilation_options: Default::default(),
            buffers: spec.buffers,
        },
        fragment: Some(wgpu::FragmentState {
            module: spec.shader,
            entry_point: Some("fs_main"),
            compilation_options: Default::default(),
            targets: &[Some(wgpu::ColorTargetState {
                format,
                blend: spec.blend,
                write_mask: wgpu::ColorWrites::ALL,
            })],
        }),
        primitive: wgpu::PrimitiveState {
            topology: spec.topology,
            ..Default::default()
        },
        depth_stencil: None,
        multisample: wgpu::MultisampleState::default(),
        multiview_mask: None,
        cache: None,
    })
}
