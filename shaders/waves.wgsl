// Background waves: thin triangle strips (no full-screen pass), shape from the vertex index, speed
// and colour from the memory pressure.

struct VsOut {
    @builtin(position) clip: vec4<f32>,
    @location(0) color: vec4<f32>,
};

@vertex
fn vs_main(@builtin(vertex_index) vi: u32, @builtin(instance_index) wave: u32) -> VsOut {
    let seg = vi / 2u;
    let edge = f32(vi & 1u);
    let x = f32(seg) / f32(WAVE_SEGMENTS) * g.screen.x;
    let w = f32(wave);
    let speed = 0.25 + 1.5 * g.pressure;
    let base = g.screen.y * (0.55 + 0.12 * w);
    let amp = g.screen.y * (0.035 + 0.015 * w) * (1.0 + g.pressure);
    let k = 6.2831853 / g.screen.x * (1.2 + 0.6 * w);
    let y = base + amp * sin(k * x + g.time * speed * (1.0 + 0.3 * w) + w * 1.7);
    // Thin glowing strips: a software adapter pays for every covered pixel.
    let thickness = g.screen.y * 0.008 * (1.0 + 0.5 * w);
    let yy = y + edge * thickness;
    let calm = vec3<f32>(0.10, 0.12, 0.40);
    let hot = vec3<f32>(0.55, 0.10, 0.14);
    let rgb = mix(calm, hot, clamp(g.pressure, 0.0, 1.0));
    var out: VsOut;
    out.clip = to_clip(vec2<f32>(x, yy));
    // Fade towards the lower edge of each band.
    out.color = vec4<f32>(rgb * 1.6, (0.55 - 0.12 * w) * (1.0 - edge));
    return out;
}

@fragment
fn fs_main(in: VsOut) -> @location(0) vec4<f32> {
    return in.color;
}
