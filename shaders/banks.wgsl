// Memory banks: one quad instanced per grid of banks, cut into banks here. The instance holds the
// grid's position, first bank, bank count and columns; each bank's state comes from a storage buffer
// written when memory changes, its colour from the palette, its animation (pulse, ghost stripes)
// from the globals.

struct Instance {
    @location(0) pos: vec2<f32>,
    @location(1) first: u32,
    @location(2) count: u32,
    @location(3) cols: u32,
    @location(4) rows: u32,
};

struct VsOut {
    @builtin(position) clip: vec4<f32>,
    // Logical px from the grid's top-left corner.
    @location(0) local: vec2<f32>,
    @location(1) @interpolate(flat) first: u32,
    @location(2) @interpolate(flat) count: u32,
    @location(3) @interpolate(flat) cols: u32,
};

@group(1) @binding(0) var<storage, read> states: array<u32>;

fn bank_color(state: u32, p: vec2<f32>) -> vec4<f32> {
    let kind = state & STATE_KIND_MASK;
    let seq = (state >> STATE_SEQ_SHIFT) & STATE_SEQ_MASK;
    var slot = SLOT_FREE;
    switch kind {
        case KIND_WEIGHTS: { slot = SLOT_WEIGHTS; }
        case KIND_KV: { slot = SLOT_SEQUENCES + (seq % SEQUENCE_SLOTS); }
        case KIND_RESERVED: { slot = SLOT_RESERVED; }
        case KIND_SCORES: { slot = SLOT_SCORES; }
        case KIND_GHOST: {
            // Ghost: diagonal red stripes over an empty bank, drifting with time.
            let s = fract((p.x + p.y) / (6.0 * g.bank_size) - g.time * 0.5);
            slot = select(SLOT_FREE, SLOT_GHOST, s < 0.5);
        }
        case KIND_HEADROOM: { slot = SLOT_HEADROOM; }
        default: { slot = SLOT_FREE; }
    }
    var c = g.palette[slot];
    if ((state & STATE_FRESH) != 0u) {
        let pulse = 0.5 + 0.5 * sin(g.time * 8.0);
        c = vec4<f32>(mix(c.rgb, vec3<f32>(1.0), 0.45 * pulse), c.a);
    }
    return c;
}

@vertex
fn vs_main(@builtin(vertex_index) vi: u32, inst: Instance) -> VsOut {
    let corner = vec2<f32>(f32(vi & 1u), f32((vi >> 1u) & 1u));
    let size = vec2<f32>(f32(inst.cols), f32(inst.rows)) * g.bank_pitch;
    let p = inst.pos + corner * size;
    var out: VsOut;
    out.clip = to_clip(p);
    out.local = corner * size;
    out.first = inst.first;
    out.count = inst.count;
    out.cols = inst.cols;
    return out;
}

@fragment
fn fs_main(in: VsOut) -> @location(0) vec4<f32> {
    // Which bank of the grid, and whether this pixel is in the gap after it (right or below).
    let k = floor(in.local / g.bank_pitch);
    let inside = in.local - k * g.bank_pitch;
    let col = u32(max(k.x, 0.0));
    let idx = u32(max(k.y, 0.0)) * in.cols + col;
    if (inside.x >= g.bank_size || inside.y >= g.bank_size || col >= in.cols || idx >= in.count) {
        discard;
    }
    let p = in.clip.xy / g.scale;
    return bank_color(states[in.first + idx], p);
}
