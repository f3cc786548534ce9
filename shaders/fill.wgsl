// The background, opaque, over whatever the scissor lets through: a region of the static layer
// is cleared with it before it is drawn again (its panels are translucent). One triangle covers the
// target.

@vertex
fn vs_main(@builtin(vertex_index) vi: u32) -> @builtin(position) vec4<f32> {
    let x = f32((vi << 1u) & 2u);
    let y = f32(vi & 2u);
    return vec4<f32>(x * 2.0 - 1.0, y * 2.0 - 1.0, 0.0, 1.0);
}

@fragment
fn fs_main() -> @location(0) vec4<f32> {
    return vec4<f32>(g.palette[SLOT_BACKGROUND].rgb, 1.0);
}
