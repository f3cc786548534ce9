//! The memory scene's shapes: die, packages, panels, wafer, the attention line and its dot, flash
//! tiles and the mini-GPUs of the overflow tray, as a `frame::Mesh`. Tessellated with lyon when the
//! layout (or what the shapes show) changes, never per frame; animated through the globals. Two
//! layers: under and over the banks.

use super::layout::{Layout, PanelKind, Rect, LINE};
use crate::frame::contract::{ANIM_DOT, ANIM_FLASH_TILE, ANIM_NONE};
use crate::frame::{Mesh, ShapeVertex};
use crate::ui::palette::{self, rgba};
use glam::Vec2;
use lyon::math::{point, Box2D};
use lyon::path::builder::BorderRadii;
use lyon::path::Winding;
use lyon::tessellation::{
    BuffersBuilder, FillOptions, FillTessellator, FillVertex, StrokeOptions, StrokeTessellator,
    StrokeVertex, VertexBuffers,
};

/// What the shapes depend on beyond the layout.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ShapeState {
    /// The chosen GPU does not hold everything: the warning panel turns red.
    pub overflow: bool,
    /// Above the engine's utilization budget but within the GPU.
    pub over_budget: bool,
    /// GPUs needed (mini-GPU icons in the warning panel; 0 hides them).
    pub gpus_needed: u64,
    pub flash: bool,
    /// The device's FlashAttention-2 tile (query rows, key columns); None: no FA2 kernel, tiles
    /// drawn square.
    pub flash_tile: Option<(u32, u32)>,
    /// 100M-token context: packages glow red.
    pub apocalypse: bool,
}

fn rounded_path(r: Rect, radius: f32) -> lyon::path::Path {
    let mut b = lyon::path::Path::builder();
    b.add_rounded_rectangle(
        &Box2D::new(point(r.x, r.y), point(r.right(), r.bottom())),
        &BorderRadii::new(radius.min(r.w / 2.0).min(r.h / 2.0)),
        Winding::Positive,
    );
    b.build()
}

fn vertex(pos: Vec2, color: [f32; 4], anim: u32, phase: f32) -> ShapeVertex {
    ShapeVertex {
        pos,
        color,
        anim,
        phase,
    }
}

struct Tess {
    buf: VertexBuffers<ShapeVertex, u32>,
    fill: FillTessellator,
    stroke: StrokeTessellator,
}

impl Tess {
    fn fill_path(&mut self, path: &lyon::path::Path, color: [f32; 4]) {
        let _ = self.fill.tessellate_path(
            path,
            &FillOptions::tolerance(0.2),
            &mut BuffersBuilder::new(&mut self.buf, |v: FillVertex| {
                vertex(v.position().to_array().into(), color, ANIM_NONE, 0.0)
            }),
        );
    }

    fn stroke_path(&mut self, path: &lyon::path::Path, options: &StrokeOptions, color: [f32; 4]) {
        let _ = self.stroke.tessellate_path(
            path,
            options,
            &mut BuffersBuilder::new(&mut self.buf, |v: StrokeVertex| {
                vertex(v.position().to_array().into(), color, ANIM_NONE, 0.0)
            }),
        );
    }

    fn rounded(&mut self, r: Rect, radius: f32, color: [f32; 4]) {
        self.fill_path(&rounded_path(r, radius), color);
    }

    fn rounded_outline(&mut self, r: Rect, radius: f32, width: f32, color: [f32; 4]) {
        let options = StrokeOptions::tolerance(0.2).with_line_width(width);
        self.stroke_path(&rounded_path(r, radius), &options, color);
    }

    fn panel(&mut self, r: Rect, ui: f32, fill: [f32; 4], border: [f32; 4]) {
        self.rounded(r, 8.0 * ui, fill);
        self.rounded_outline(r.inset(0.5), 8.0 * ui, (1.2 * ui).max(1.0), border);
    }

    fn line(&mut self, a: Vec2, b: Vec2, width: f32, color: [f32; 4]) {
        let mut p = lyon::path::Path::builder();
        p.begin(point(a.x, a.y));
        p.line_to(point(b.x, b.y));
        p.end(false);
        let options = StrokeOptions::tolerance(0.2)
            .with_line_width(width)
            .with_line_cap(lyon::tessellation::LineCap::Round);
        self.stroke_path(&p.build(), &options, color);
    }

    fn circle(&mut self, c: Vec2, r: f32, color: [f32; 4], anim: u32) {
        let _ = self.fill.tessellate_circle(
            point(c.x, c.y),
            r,
            &FillOptions::tolerance(0.1),
            &mut BuffersBuilder::new(&mut self.buf, |v: FillVertex| {
                vertex(v.position().to_array().into(), color, anim, 0.0)
            }),
        );
    }

    fn quad(&mut self, r: Rect, color: [f32; 4], anim: u32, phase: f32) {
        let base = self.buf.vertices.len() as u32;
        for (x, y) in [
            (r.x, r.y),
            (r.right(), r.y),
            (r.right(), r.bottom()),
            (r.x, r.bottom()),
        ] {
            self.buf
                .vertices
                .push(vertex(Vec2::new(x, y), color, anim, phase));
        }
        self.buf
            .indices
            .extend_from_slice(&[base, base + 1, base + 2, base, base + 2, base + 3]);
    }
}

/// The diagonal attention line's ends inside the die: bottom-left to top-right.
pub fn diagonal(die: &Rect) -> (Vec2, Vec2) {
    let i = die.w * 0.12;
    (
        Vec2::new(die.x + i, die.bottom() - i),
        Vec2::new(die.right() - i, die.y + i),
    )
}

/// Flash tiles along the query axis of the die.
pub const TILES: u32 = 10;

/// The flash-tile grid in the die for a FlashAttention-2 tile of `rows` queries × `cols` keys:
/// (query blocks across, key blocks up), each block drawn at the tile's own proportions, and for
/// each query block the key blocks a causal kernel visits (those starting before the block's last
/// query). Square tiles when the device has no FA2 kernel.
pub fn flash_grid(tile: Option<(u32, u32)>) -> (u32, u32, Vec<u32>) {
    let (br, bc) = tile.unwrap_or((1, 1));
    let (br, bc) = (br.max(1) as u64, bc.max(1) as u64);
    let up = ((TILES as u64 * br).div_ceil(bc)).clamp(1, 4 * TILES as u64) as u32;
    let visits = (0..TILES as u64)
        .map(|i| (((i + 1) * br).div_ceil(bc) as u32).min(up))
        .collect();
    (TILES, up, visits)
}

/// Builds both layers for a layout.
pub fn build(l: &Layout, s: &ShapeState) -> Mesh {
    let mut t = Tess {
        buf: VertexBuffers::new(),
        fill: FillTessellator::new(),
        stroke: StrokeTessellator::new(),
    };
    // Under the banks.
    if l.wafer {
        wafer(&mut t, l);
    }
    panels(&mut t, l, s);
    packages(&mut t, l, s);
    die(&mut t, l);
    mini_gpus(&mut t, l, s);
    let under_end = t.buf.indices.len() as u32;
    // Over the banks.
    if s.flash {
        flash_tiles(&mut t, l, s.flash_tile);
    }
    attention_line(&mut t, l, s.flash);
    let total = t.buf.indices.len() as u32;
    Mesh {
        vertices: t.buf.vertices,
        indices: t.buf.indices,
        under: 0..under_end,
        over: under_end..total,
    }
}

/// The wafer's disc behind its tiles.
fn wafer(t: &mut Tess, l: &Layout) {
    let r = (l.board.w.powi(2) + l.board.h.powi(2)).sqrt() / 2.0;
    let r = r.min(l.board.w.max(l.board.h) * 0.56);
    t.circle(
        l.board.center(),
        r,
        rgba([0x16, 0x1c, 0x30], 0.9),
        ANIM_NONE,
    );
}

/// Panel backgrounds: the warning panel red when memory overflows, orange over budget; the banner
/// red with flash attention or at 100M tokens.
fn panels(t: &mut Tess, l: &Layout, s: &ShapeState) {
    for p in &l.panels {
        let (fill, border) = match p.kind {
            PanelKind::Warning if s.overflow => {
                (rgba([0x2a, 0x0f, 0x14], 0.94), rgba(palette::DANGER, 1.0))
            }
            PanelKind::Warning if s.over_budget => {
                (rgba([0x2a, 0x1a, 0x0c], 0.94), rgba(palette::WARN, 1.0))
            }
            PanelKind::Banner if s.flash || s.apocalypse => {
                (rgba([0x3a, 0x0e, 0x12], 0.92), rgba(palette::DANGER, 1.0))
            }
            _ => (rgba(palette::PANEL, 1.0), rgba(palette::PANEL_BORDER, 1.0)),
        };
        t.panel(p.rect, l.ui, fill, border);
    }
}

/// Memory packages: red at the memory apocalypse, crossed out where the site is disabled.
fn packages(t: &mut Tess, l: &Layout, s: &ShapeState) {
    let ui = l.ui;
    for m in &l.modules {
        let (fill, border) = if m.active && s.apocalypse {
            (rgba([0x3a, 0x0e, 0x12], 1.0), rgba(palette::DANGER, 1.0))
        } else if m.active {
            (
                rgba(palette::MODULE, 1.0),
                rgba(palette::MODULE_BORDER, 1.0),
            )
        } else {
            (rgba([0x0c, 0x0f, 0x18], 1.0), rgba([0x26, 0x2c, 0x3c], 1.0))
        };
        t.rounded(m.rect, 4.0 * ui, fill);
        t.rounded_outline(m.rect.inset(0.5), 4.0 * ui, (1.0 * ui).max(1.0), border);
        if !m.active {
            let c = rgba([0x33, 0x3a, 0x4d], 1.0);
            let r = m.rect;
            t.line(r.min(), r.max(), 1.5 * ui, c);
            t.line(
                Vec2::new(r.right(), r.y),
                Vec2::new(r.x, r.bottom()),
                1.5 * ui,
                c,
            );
        }
    }
}

fn die(t: &mut Tess, l: &Layout) {
    let ui = l.ui;
    t.rounded(l.die, 10.0 * ui, rgba(palette::DIE, 1.0));
    t.rounded_outline(
        l.die.inset(1.0),
        10.0 * ui,
        2.0 * ui,
        rgba(palette::DIE_BORDER, 1.0),
    );
}

/// Mini GPUs in the warning panel: how many GPUs this state needs (up to 32, the board's first).
fn mini_gpus(t: &mut Tess, l: &Layout, s: &ShapeState) {
    let ui = l.ui;
    let Some(p) = l.panel(PanelKind::Warning) else {
        return;
    };
    if s.gpus_needed <= 1 {
        return;
    }
    let n = s.gpus_needed.min(32) as usize;
    let size = ((p.rect.w - 24.0 * ui) / 16.0).min(LINE * ui);
    let y0 = p.rect.bottom() - 12.0 * ui - 2.0 * size;
    for i in 0..n {
        let x = p.rect.x + 12.0 * ui + (i % 16) as f32 * size;
        let y = y0 + (i / 16) as f32 * size;
        let r = Rect::new(x + 1.5, y + 1.5, size - 3.0, size - 3.0);
        let c = if i == 0 {
            rgba(palette::WEIGHTS, 1.0)
        } else {
            rgba(palette::DANGER, 0.85)
        };
        t.rounded(r, 2.0 * ui, c);
    }
}

/// Flash tiles along the diagonal: query block i (left to right) visits key blocks 0..n (bottom
/// to top), the causal triangle. They exist only while flash attention is on (the shapes are
/// rebuilt when it toggles).
fn flash_tiles(t: &mut Tess, l: &Layout, tile: Option<(u32, u32)>) {
    let (a, b) = diagonal(&l.die);
    let (across, up, visits) = flash_grid(tile);
    let (tw, th) = ((b.x - a.x) / across as f32, (a.y - b.y) / up as f32);
    let gap = 1.0f32.min(th / 4.0);
    for (i, &n) in visits.iter().enumerate() {
        for j in 0..n {
            let r = Rect::new(
                a.x + i as f32 * tw + gap,
                a.y - (j + 1) as f32 * th + gap,
                tw - 2.0 * gap,
                th - 2.0 * gap,
            );
            let phase = (i as f32 + 0.5) / across as f32;
            t.quad(r, rgba(palette::FLASH, 0.9), ANIM_FLASH_TILE, phase);
        }
    }
}

/// The attention line and its dot (placed by the globals as the sweep goes on).
fn attention_line(t: &mut Tess, l: &Layout, flash: bool) {
    let (a, b) = diagonal(&l.die);
    let line_color = if flash {
        rgba(palette::FLASH, 1.0)
    } else {
        rgba(palette::LINE, 1.0)
    };
    t.line(a, b, 2.0 * l.ui, line_color);
    let dot_r = if flash { 5.0 * l.ui } else { 7.0 * l.ui };
    let dot_c = if flash {
        rgba([0xbe, 0xf2, 0x64], 1.0)
    } else {
        rgba(palette::GOLD, 1.0)
    };
    t.circle(Vec2::ZERO, dot_r, dot_c, ANIM_DOT);
}

/// Where the dot sits for a sweep fraction.
pub fn dot_position(l: &Layout, progress: f64) -> Vec2 {
    let (a, b) = diagonal(&l.die);
    let p = progress.clamp(0.0, 1.0) as f32;
    Vec2::new(a.x + (b.x - a.x) * p, a.y + (b.y - a.y) * p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flash_tiles_follow_the_devices_tile() {
        // FlashAttention-2 on sm90: 128 query rows x 64 keys. Ten query blocks across, each key
        // block half a query block tall, so 20 up; query block i visits the 2(i + 1) key blocks
        // that start before its last query: 2 + 4 + ... + 20 = 110 tiles.
        let (across, up, visits) = flash_grid(Some((128, 64)));
        assert_eq!((across, up), (10, 20));
        assert_eq!(visits, vec![2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
        // sm86/sm89: 64 x 64, square tiles, the plain causal triangle of 55.
        let (across, up, visits) = flash_grid(Some((64, 64)));
        assert_eq!((across, up), (10, 10));
        assert_eq!(visits.iter().sum::<u32>(), 55);
        // No FA2 kernel: drawn square as well.
        assert_eq!(flash_grid(None), flash_grid(Some((64, 64))));
    }
}
