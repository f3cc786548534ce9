// Shared by every pipeline: the per-frame globals (one small uniform written each frame). The
// constants in capitals (KIND_*, SLOT_*, ...) come from src/frame/contract.rs, written ahead of this file.

struct Globals {
    // Logical screen size in px.
    screen: vec2<f32>,
    // Seconds of animation time (frozen while paused).
    time: f32,
    // Physical px per logical px.
    scale: f32,
    // Centre of the attention dot, logical px.
    dot: vec2<f32>,
    // Side of one bank, logical px.
    bank_size: f32,
    // 0..1: how full the GPU is (drives the waves' colour and speed).
    pressure: f32,
    // 1 when flash attention is on.
    flash: f32,
    // Fraction of the sweep done (how far the flash tiles have streamed).
    progress: f32,
    // Distance between bank origins, logical px.
    bank_pitch: f32,
    _pad: f32,
    // Colours (linear RGB, alpha) by palette slot (SLOT_*): see src/ui/palette.rs.
    palette: array<vec4<f32>, PALETTE_SLOTS>,
};

@group(0) @binding(0) var<uniform> g: Globals;

fn to_clip(p: vec2<f32>) -> vec4<f32> {
    return vec4<f32>(p.x / g.screen.x * 2.0 - 1.0, 1.0 - p.y / g.screen.y * 2.0, 0.0, 1.0);
}
