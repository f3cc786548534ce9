//! Numbers the Rust side and the WGSL side must agree on, defined once here. The shaders get them as
//! WGSL constants (`render::shaders` writes them ahead of every pipeline's source), so a shader never
//! spells one as a literal; struct sizes and layouts are checked against the WGSL by a naga test
//! (tests/shaders.rs).

/// Bank kinds: the low 8 bits of a bank state (see shaders/banks.wgsl).
pub const KIND_FREE: u32 = 0;
pub const KIND_WEIGHTS: u32 = 1;
pub const KIND_KV: u32 = 2;
pub const KIND_RESERVED: u32 = 3;
pub const KIND_SCORES: u32 = 4;
pub const KIND_GHOST: u32 = 5;
pub const KIND_HEADROOM: u32 = 6;
/// A bank state's kind bits.
pub const STATE_KIND_MASK: u32 = 0xff;
/// Where a bank state keeps its sequence (bits 8..16, for KV and reserved banks).
pub const STATE_SEQ_SHIFT: u32 = 8;
pub const STATE_SEQ_MASK: u32 = 0xff;
/// Set on the newest bank of each growing sequence (it pulses).
pub const STATE_FRESH: u32 = 1 << 16;

/// Colour slots of the palette uniform.
pub const PALETTE_SLOTS: usize = 32;
pub const SLOT_FREE: u32 = 0;
pub const SLOT_WEIGHTS: u32 = 1;
pub const SLOT_RESERVED: u32 = 2;
pub const SLOT_SCORES: u32 = 3;
pub const SLOT_GHOST: u32 = 4;
pub const SLOT_HEADROOM: u32 = 5;
/// The background (the renderer writes it from `FrameData::background`).
pub const SLOT_BACKGROUND: u32 = 6;
/// Sequence colours take slots `SLOT_SEQUENCES..SLOT_SEQUENCES + SEQUENCE_SLOTS`.
pub const SLOT_SEQUENCES: u32 = 8;
pub const SEQUENCE_SLOTS: u32 = 16;

/// How a shape vertex moves (shaders/shapes.wgsl): not at all, as a flash tile streaming with the
/// sweep, or with the attention dot.
pub const ANIM_NONE: u32 = 0;
pub const ANIM_FLASH_TILE: u32 = 1;
pub const ANIM_DOT: u32 = 2;

/// Memory packages particles can come from.
pub const MAX_SOURCES: usize = 96;
/// Threads per workgroup of the particle compute pass.
pub const WORKGROUP_SIZE: u32 = 64;

/// Background waves: strips, and segments per strip.
pub const WAVES: u32 = 3;
pub const WAVE_SEGMENTS: u32 = 240;

/// Every constant above by its WGSL name and type, for the shaders' prelude.
pub const WGSL_U32: [(&str, u32); 28] = [
    ("KIND_FREE", KIND_FREE),
    ("KIND_WEIGHTS", KIND_WEIGHTS),
    ("KIND_KV", KIND_KV),
    ("KIND_RESERVED", KIND_RESERVED),
    ("KIND_SCORES", KIND_SCORES),
    ("KIND_GHOST", KIND_GHOST),
    ("KIND_HEADROOM", KIND_HEADROOM),
    ("STATE_KIND_MASK", STATE_KIND_MASK),
    ("STATE_SEQ_SHIFT", STATE_SEQ_SHIFT),
    ("STATE_SEQ_MASK", STATE_SEQ_MASK),
    ("STATE_FRESH", STATE_FRESH),
    ("PALETTE_SLOTS", PALETTE_SLOTS as u32),
    ("SLOT_FREE", SLOT_FREE),
    ("SLOT_WEIGHTS", SLOT_WEIGHTS),
    ("SLOT_RESERVED", SLOT_RESERVED),
    ("SLOT_SCORES", SLOT_SCORES),
    ("SLOT_GHOST", SLOT_GHOST),
    ("SLOT_HEADROOM", SLOT_HEADROOM),
    ("SLOT_BACKGROUND", SLOT_BACKGROUND),
    ("SLOT_SEQUENCES", SLOT_SEQUENCES),
    ("SEQUENCE_SLOTS", SEQUENCE_SLOTS),
    ("ANIM_NONE", ANIM_NONE),
    ("ANIM_FLASH_TILE", ANIM_FLASH_TILE),
    ("ANIM_DOT", ANIM_DOT),
    ("MAX_SOURCES", MAX_SOURCES as u32),
    ("WORKGROUP_SIZE", WORKGROUP_SIZE),
    ("WAVES", WAVES),
    ("WAVE_SEGMENTS", WAVE_SEGMENTS),
];
