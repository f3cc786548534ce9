//! The colours, defined once here (sRGB) and sent to the shaders as linear values, in the palette
//! slots of `frame::contract`.

use crate::frame::contract::{self as c, PALETTE_SLOTS};

/// Bank colours (sRGB), one per palette slot: free, weights, reserved, scores, ghost stripe,
/// headroom, then the sequences.
pub const FREE: [u8; 3] = [0x1c, 0x24, 0x3a];
pub const WEIGHTS: [u8; 3] = [0x8b, 0x5c, 0xf6];
pub const RESERVED: [u8; 3] = [0x6b, 0x72, 0x80];
pub const SCORES: [u8; 3] = [0xdc, 0x26, 0x26];
pub const GHOST: [u8; 3] = [0xef, 0x44, 0x44];
pub const HEADROOM: [u8; 3] = [0x2c, 0x26, 0x38];
pub const SEQUENCES: [[u8; 3]; 16] = [
    [0x3b, 0x82, 0xf6],
    [0x22, 0xd3, 0xee],
    [0xec, 0x48, 0x99],
    [0x22, 0xc5, 0x5e],
    [0xf9, 0x73, 0x16],
    [0xfa, 0xcc, 0x15],
    [0x14, 0xb8, 0xa6],
    [0xfb, 0x71, 0x85],
    [0x81, 0x8c, 0xf8],
    [0xa3, 0xe6, 0x35],
    [0xf5, 0x9e, 0x0b],
    [0x38, 0xbd, 0xf8],
    [0xd9, 0x46, 0xef],
    [0x34, 0xd3, 0x99],
    [0xfb, 0x92, 0x3c],
    [0xe2, 0xe8, 0xf0],
];
pub const BACKGROUND: [u8; 3] = [0x0a, 0x0d, 0x18];
pub const PANEL: [u8; 3] = [0x11, 0x16, 0x27];
pub const PANEL_BORDER: [u8; 3] = [0x2a, 0x34, 0x50];
pub const MODULE: [u8; 3] = [0x12, 0x18, 0x2b];
pub const MODULE_BORDER: [u8; 3] = [0x3a, 0x46, 0x66];
pub const DIE: [u8; 3] = [0x26, 0x2d, 0x40];
pub const DIE_BORDER: [u8; 3] = [0x5b, 0x67, 0x88];
pub const FLASH: [u8; 3] = [0x22, 0xc5, 0x5e];
pub const LINE: [u8; 3] = [0xf8, 0xd3, 0x5e];
pub const TEXT: [u8; 3] = [0xe5, 0xe9, 0xf2];
pub const TEXT_DIM: [u8; 3] = [0x94, 0xa0, 0xb8];
pub const WARN: [u8; 3] = [0xf9, 0x73, 0x16];
pub const DANGER: [u8; 3] = [0xef, 0x44, 0x44];
pub const OK: [u8; 3] = [0x4a, 0xde, 0x80];
pub const GOLD: [u8; 3] = [0xfb, 0xbf, 0x24];

/// sRGB byte to linear.
pub fn linear(c: u8) -> f32 {
    let c = c as f32 / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

pub fn rgba(c: [u8; 3], a: f32) -> [f32; 4] {
    [linear(c[0]), linear(c[1]), linear(c[2]), a]
}

/// The palette slots the shaders index.
pub fn slots() -> [[f32; 4]; PALETTE_SLOTS] {
    let mut p = [[0.0; 4]; PALETTE_SLOTS];
    p[c::SLOT_FREE as usize] = rgba(FREE, 1.0);
    p[c::SLOT_WEIGHTS as usize] = rgba(WEIGHTS, 1.0);
    p[c::SLOT_RESERVED as usize] = rgba(RESERVED, 1.0);
    p[c::SLOT_SCORES as usize] = rgba(SCORES, 1.0);
    p[c::SLOT_GHOST as usize] = rgba(GHOST, 1.0);
    p[c::SLOT_HEADROOM as usize] = rgba(HEADROOM, 1.0);
    for (i, col) in SEQUENCES.iter().enumerate() {
        p[c::SLOT_SEQUENCES as usize + i] = rgba(*col, 1.0);
    }
    p
}

/// The background, linear RGB.
pub fn background() -> [f32; 3] {
    [
        linear(BACKGROUND[0]),
        linear(BACKGROUND[1]),
        linear(BACKGROUND[2]),
    ]
}

const _: () = assert!(SEQUENCES.len() == c::SEQUENCE_SLOTS as usize);
const _: () = assert!((c::SLOT_SEQUENCES + c::SEQUENCE_SLOTS) as usize <= PALETTE_SLOTS);

/// Colour of sequence `i`.
pub fn sequence(i: usize) -> [u8; 3] {
    SEQUENCES[i % SEQUENCES.len()]
}
