//! The frame hand-off: what a scene gives the renderer, with no wgpu in it. A scene's view keeps the
//! long-lived data (bank grids and states, the tessellated shapes, the text blocks) and lends it to
//! the renderer each frame as a `FrameData` of borrowed parts, so nothing is copied on the way
//! (vello keeps its scene encoding free of wgpu; rerun's re_renderer keeps per-frame data apart
//! from its long-lived renderers). Parts that rarely change carry a revision: the renderer uploads
//! a part only when its revision moved. Revisions come from one counter for the whole process, so a
//! new scene never repeats one its predecessor used.
//!
//! This module knows no scene, no simulation and no calculator; the renderer knows nothing else.

pub mod contract;

use bytemuck::{Pod, Zeroable};
use glam::Vec2;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

/// A rectangle in physical pixels: x, y, width, height.
pub type PxRect = [u32; 4];

/// A revision no part of any frame has had before.
pub fn next_revision() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The target's size in physical pixels and its scale factor (physical px per logical px).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Target {
    pub width: u32,
    pub height: u32,
    pub scale: f32,
}

/// A grid of memory banks, drawn as one instanced quad and cut into banks by the shader
/// (shaders/banks.wgsl); uploaded as it is.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, PartialEq)]
pub struct BankGrid {
    /// Top-left of the grid's first bank, logical px.
    pub pos: Vec2,
    /// Index of the grid's first bank in the bank states.
    pub first: u32,
    /// Banks in the grid (row-major; the last row may be partly filled).
    pub count: u32,
    /// Banks per row.
    pub cols: u32,
    /// Rows (`count` divided by `cols`, rounded up).
    pub rows: u32,
    pub _pad: [u32; 2],
}
const _: () = assert!(std::mem::size_of::<BankGrid>() == 32);

impl BankGrid {
    /// A grid of `count` banks, `cols` per row, from `pos`.
    pub fn new(pos: Vec2, first: u32, count: u32, cols: u32) -> BankGrid {
        let cols = cols.max(1);
        BankGrid {
            pos,
            first,
            count,
            cols,
            rows: count.div_ceil(cols),
            _pad: [0; 2],
        }
    }
}

/// A vertex of the tessellated shapes (shaders/shapes.wgsl); uploaded as it is.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, PartialEq)]
pub struct ShapeVertex {
    /// Logical px.
    pub pos: Vec2,
    /// Linear RGB and alpha.
    pub color: [f32; 4],
    /// `contract::ANIM_*`.
    pub anim: u32,
    /// Flash tiles: where along the stream (0..1).
    pub phase: f32,
}
const _: () = assert!(std::mem::size_of::<ShapeVertex>() == 32);

/// Tessellated shapes: two layers, one under the banks and one over them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mesh {
    pub vertices: Vec<ShapeVertex>,
    pub indices: Vec<u32>,
    /// Index ranges drawn under the banks, then over them.
    pub under: Range<u32>,
    pub over: Range<u32>,
}

/// Values every pipeline reads each frame (the globals uniform, with the palette).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Uniforms {
    /// Logical size.
    pub screen: Vec2,
    /// Seconds of animation (frozen while paused).
    pub time: f32,
    pub scale: f32,
    /// Centre of the attention dot, logical px.
    pub dot: Vec2,
    /// Side of one bank and distance between bank origins, logical px.
    pub bank_size: f32,
    pub bank_pitch: f32,
    /// 0..1: how full memory is (the waves' colour and speed).
    pub pressure: f32,
    pub flash: bool,
    /// Fraction of the sweep done.
    pub progress: f32,
}

/// A run of text: sRGB colour, weight and size relative to its block's.
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    pub text: String,
    pub color: [u8; 3],
    pub bold: bool,
    /// Relative to the block's font size.
    pub size: f32,
}

impl Span {
    pub fn new(text: impl Into<String>, color: [u8; 3]) -> Span {
        Span {
            text: text.into(),
            color,
            bold: false,
            size: 1.0,
        }
    }
    pub fn bold(mut self) -> Span {
        self.bold = true;
        self
    }
    pub fn size(mut self, s: f32) -> Span {
        self.size = s;
        self
    }
}

/// A block of text laid out in a rectangle, in physical pixels.
#[derive(Clone, Debug, PartialEq)]
pub struct TextBlock {
    /// Which block this is, for the renderer's caches (a scene's panel).
    pub id: u32,
    /// Top-left of the text.
    pub origin: Vec2,
    /// Where glyphs may show: left, top, right, bottom.
    pub bounds: [f32; 4],
    /// Width lines wrap at, and the height laid out.
    pub size: Vec2,
    pub font_size: f32,
    pub line_height: f32,
    /// Tab stops, in spaces.
    pub tab_width: u16,
    pub centered: bool,
    pub spans: Vec<Span>,
    /// What to redraw when this block changes (its panel, background included).
    pub redraw: PxRect,
}

/// Text in two layers: what rarely changes (`settled`, which the renderer may cache with the other
/// static parts) and what changes while the scene plays (`live`).
#[derive(Clone, Copy, Debug)]
pub struct Texts<'a> {
    pub settled: &'a [TextBlock],
    pub settled_revision: u64,
    pub live: &'a [TextBlock],
    pub live_revision: u64,
}

/// The memory banks of a frame.
#[derive(Clone, Copy, Debug)]
pub struct Banks<'a> {
    /// Revision of the grids (and of `FrameData::static_rects`).
    pub geometry_revision: u64,
    pub grids: &'a [BankGrid],
    /// Logical px.
    pub pitch: f32,
    pub size: f32,
    /// Revision of the states.
    pub states_revision: u64,
    /// One state per bank (`contract::KIND_*`, sequence, fresh bit).
    pub states: &'a [u32],
    /// Banks whose look moves with time, to redraw this frame where they are cached: as the
    /// budget allows, and whatever the budget.
    pub redraw: &'a [Range<u32>],
    pub redraw_urgent: &'a [Range<u32>],
}

/// The particle stream: where particles come from and go, how many, how fast.
#[derive(Clone, Copy, Debug)]
pub struct Particles<'a> {
    /// Where they go (x, y, w, h), logical px.
    pub die: [f32; 4],
    /// Where they come from (at most `contract::MAX_SOURCES` are used).
    pub sources: &'a [[f32; 4]],
    /// Fraction of the pool kept alive.
    pub emit: f32,
    /// Seconds of animation since the last frame.
    pub dt: f32,
    /// Seconds from a source to the die.
    pub travel: f32,
    /// Draw trails (ludicrous speed).
    pub streak: bool,
}

/// Everything the renderer needs for one frame.
#[derive(Clone, Copy, Debug)]
pub struct FrameData<'a> {
    pub target: Target,
    pub uniforms: Uniforms,
    /// Linear RGBA by `contract::SLOT_*`.
    pub palette: &'a [[f32; 4]; contract::PALETTE_SLOTS],
    /// Linear RGB of the background.
    pub background: [f32; 3],
    pub banks: Banks<'a>,
    pub shapes: &'a Mesh,
    pub shapes_revision: u64,
    pub texts: Texts<'a>,
    /// Rectangles that change rarely (panels, packages, die): a renderer may keep them in a
    /// cached layer and copy them into each frame. Revised with the bank geometry.
    pub static_rects: &'a [PxRect],
    pub particles: Particles<'a>,
}
