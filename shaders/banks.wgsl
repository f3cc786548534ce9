// Memory banks: one unit quad instanced per bank. The instance holds only position and bank index;
// the bank's state comes from a storage buffer written when memory changes, its colour from the
// palette, its animation (pulse, ghost stripes) from the globals.

struct Instance {
    @location(0) pos: vec2<f32>,
    @location(1) index: u32,
};

struct VsOut {
    @builtin(position) clip: vec4<f32>,
    @location(0) local: vec2<f32>,
    @location(1) @interpolate(flat) state: u32,
    @location(2) world: vec2<f32>,
};

@group(1) @binding(0) var<storage, read> states: array<u32>;

const FREE: u32 = 0u;
const WEIGHTS: u32 = 1u;
const KV: u32 = 2u;
const RESERVED: u32 = 3u;
const SCORES: u32 = 4u;
const GHOST: u32 = 5u;
const HEADROOM: u32 = 6u;
const FRESH: u32 = 65536u;

@vertex
fn vs_main(@builtin(vertex_index) vi: u32, inst: Instance) -> VsOut {
    let corner = vec2<f32>(f32(vi & 1u), f32((vi >> 1u) & 1u));
    let p = inst.pos + corner * g.bank_size;
    var out: VsOut;
    out.clip = to_clip(p);
    out.local = corner;
    out.state = states[inst.index];
    out.world = p;
    return out;
}

@fragment
fn fs_main(in: VsOut) -> @location(0) vec4<f32> {
    let kind = in.state & 255u;
    let seq = (in.state >> 8u) & 255u;
    var c: vec4<f32>;
    switch kind {
        case 1u: { c = g.palette[1]; }
        case 2u: { c = g.palette[8u + (seq % 16u)]; }
        case 3u: { c = g.palette[2]; }
        case 4u: { c = g.palette[3]; }
        case 5u: {
            // Ghost: diagonal red stripes over an empty bank, drifting with time.
            let s = fract((in.world.x + in.world.y) / (6.0 * g.bank_size) - g.time * 0.5);
            c = select(g.palette[0], g.palette[4], s < 0.5);
        }
        case 6u: { c = g.palette[5]; }
        default: { c = g.palette[0]; }
    }
    if ((in.state & FRESH) != 0u) {
        let pulse = 0.5 + 0.5 * sin(g.time * 8.0);
        c = vec4<f32>(mix(c.rgb, vec3<f32>(1.0), 0.45 * pulse), c.a);
    }
    return c;
}
