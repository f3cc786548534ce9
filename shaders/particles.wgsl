// Particles: a fixed pool in two storage buffers (ping-pong). The compute pass moves each particle
// and respawns dead ones at a memory package, headed for the die (reads) or back (writes); the render
// pass draws them as points. The CPU only writes the emission uniform.

struct Particle {
    pos: vec2<f32>,
    vel: vec2<f32>,
    life: f32,
    max_life: f32,
    kind: f32,
    _pad: f32,
};

struct Params {
    // Die rectangle (x, y, w, h), logical px.
    die: vec4<f32>,
    count: u32,
    sources: u32,
    frame: u32,
    _p0: u32,
    // Fraction of the pool kept alive (0..1).
    emit: f32,
    // Seconds of animation since the last frame (0 while paused).
    dt: f32,
    // Seconds a particle takes from a package to the die.
    travel: f32,
    // 1 at ludicrous speed: streaks.
    streak: f32,
    // Memory packages (x, y, w, h), logical px.
    rects: array<vec4<f32>, MAX_SOURCES>,
};

@group(0) @binding(1) var<uniform> params: Params;

fn hash(n: u32) -> f32 {
    var x = n;
    x = x ^ (x >> 16u);
    x = x * 0x7feb352du;
    x = x ^ (x >> 15u);
    x = x * 0x846ca68bu;
    x = x ^ (x >> 16u);
    return f32(x) / 4294967296.0;
}

@group(1) @binding(0) var<storage, read> src: array<Particle>;
@group(1) @binding(1) var<storage, read_write> dst: array<Particle>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn cs_main(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if (i >= params.count) {
        return;
    }
    var p = src[i];
    p.life = p.life - params.dt;
    if (p.life <= 0.0) {
        let seed = i * 7919u + params.frame * 104729u;
        // Keep about emit x count alive: a dead particle respawns with that probability per frame,
        // scaled so the pool refills over one travel time.
        let chance = params.emit * clamp(params.dt / max(params.travel, 0.01) * 2.0, 0.0, 1.0);
        if (params.sources == 0u || hash(seed) > chance) {
            p.life = 0.0;
            p.kind = 0.0;
            dst[i] = p;
            return;
        }
        let r = params.rects[u32(hash(seed + 1u) * f32(params.sources)) % params.sources];
        let a = vec2<f32>(r.x + hash(seed + 2u) * r.z, r.y + hash(seed + 3u) * r.w);
        let b = vec2<f32>(
            params.die.x + (0.2 + 0.6 * hash(seed + 4u)) * params.die.z,
            params.die.y + (0.2 + 0.6 * hash(seed + 5u)) * params.die.w,
        );
        let t = params.travel * (0.7 + 0.6 * hash(seed + 6u));
        // Most traffic is reads (weights and KV into the die); some is the new KV written back.
        let write = hash(seed + 7u) < 0.15;
        p.pos = select(a, b, write);
        p.vel = (select(b, a, write) - p.pos) / t;
        p.life = t;
        p.max_life = t;
        p.kind = select(1.0, 2.0, write);
    } else {
        p.pos = p.pos + p.vel * params.dt;
    }
    dst[i] = p;
}

struct VsOut {
    @builtin(position) clip: vec4<f32>,
    @location(0) color: vec4<f32>,
};

@group(1) @binding(0) var<storage, read> particles: array<Particle>;

@vertex
fn vs_main(@builtin(vertex_index) vi: u32) -> VsOut {
    // At ludicrous speed each particle is drawn twice more, trailing behind: a streak.
    let n = arrayLength(&particles);
    let i = vi % n;
    let trail = f32(vi / n);
    let p = particles[i];
    var out: VsOut;
    if (p.life <= 0.0 || p.kind == 0.0) {
        out.clip = vec4<f32>(-2.0, -2.0, 0.0, 1.0);
        out.color = vec4<f32>(0.0);
        return out;
    }
    // The trail never reaches back past where the particle started (it stays on its path).
    out.clip = to_clip(p.pos - p.vel * min(0.012 * trail, p.max_life - p.life));
    let age = clamp(p.life / max(p.max_life, 0.001), 0.0, 1.0);
    // Gold with flash attention, cool blue otherwise; writes are paler.
    let cool = vec3<f32>(0.55, 0.85, 1.0);
    let gold = vec3<f32>(1.0, 0.78, 0.25);
    var rgb = mix(cool, gold, g.flash);
    if (p.kind > 1.5) {
        rgb = mix(rgb, vec3<f32>(1.0), 0.5);
    }
    out.color = vec4<f32>(rgb, min(1.0, 0.35 + 1.2 * sin(age * 3.14159)) / (1.0 + trail));
    return out;
}

@fragment
fn fs_main(in: VsOut) -> @location(0) vec4<f32> {
    return in.color;
}
