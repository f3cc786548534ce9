// Lyon-tessellated shapes (die, packages, panels, the attention line and its dot, flash tiles):
// tessellated once per layout; animated only through the globals.

struct Vertex {
    @location(0) pos: vec2<f32>,
    @location(1) color: vec4<f32>,
    // ANIM_NONE static, ANIM_FLASH_TILE streams when flash attention is on, ANIM_DOT follows the
    // attention dot.
    @location(2) anim: u32,
    // Flash tiles: position along the stream 0..1.
    @location(3) phase: f32,
};

struct VsOut {
    @builtin(position) clip: vec4<f32>,
    @location(0) color: vec4<f32>,
};

@vertex
fn vs_main(v: Vertex) -> VsOut {
    var p = v.pos;
    var c = v.color;
    if (v.anim == ANIM_DOT) {
        p = p + g.dot;
    } else if (v.anim == ANIM_FLASH_TILE) {
        // A tile glows when the stream passes it; only tiles the sweep has reached take part.
        let reached = select(0.0, 1.0, v.phase <= g.progress + 0.001);
        let wave = 0.5 + 0.5 * sin((v.phase * 12.0 - g.time * 3.0) * 3.14159);
        c = vec4<f32>(c.rgb, c.a * g.flash * reached * (0.35 + 0.65 * wave));
    }
    var out: VsOut;
    out.clip = to_clip(p);
    out.color = c;
    return out;
}

@fragment
fn fs_main(in: VsOut) -> @location(0) vec4<f32> {
    return in.color;
}
