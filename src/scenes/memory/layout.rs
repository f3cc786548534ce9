//! The memory scene's geometry in logical pixels from (window size, scale factor, GPU): the board
//! (die and memory packages with their bank grids) and the text panels. No wgpu here. Nothing
//! overlaps from 1280x720 to 7680x4320, portrait too (tested).

use crate::catalog::{Gpu, MemoryType};
pub use crate::ui::Rect;
use glam::Vec2;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PanelKind {
    /// Top: the flash-attention savings banner.
    Banner,
    /// Top left: model, context, memory, GPUs, efficiency.
    Info,
    /// Below the info panel: the live formula.
    Formula,
    /// Lower left: papers for the enabled techniques.
    Papers,
    /// Lower left: a factoid.
    Factoids,
    /// Right column top: warnings (overflow, GPUs needed).
    Warning,
    /// Right column: the controls.
    Controls,
    /// Under the board: colour legend and what one bank is.
    Legend,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Panel {
    pub kind: PanelKind,
    pub rect: Rect,
    /// Lines of text the panel has room for.
    pub lines: u32,
}

/// One memory package (HBM stack, GDDR chip, SRAM tile) and its bank grid.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Module {
    pub rect: Rect,
    /// Where banks go.
    pub inner: Rect,
    pub cols: u32,
    pub rows: u32,
    /// Present on the board but disabled (no banks).
    pub active: bool,
}

impl Module {
    pub fn capacity(&self) -> u32 {
        if self.active {
            self.cols * self.rows
        } else {
            0
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// Logical size.
    pub width: f32,
    pub height: f32,
    pub scale: f32,
    /// Text and chrome scale: 1.0 at 1920x1080 logical, larger on big screens.
    pub ui: f32,
    pub board: Rect,
    pub die: Rect,
    pub modules: Vec<Module>,
    /// Distance between bank origins, logical px.
    pub bank_pitch: f32,
    /// Side of one bank, logical px.
    pub bank_size: f32,
    pub panels: Vec<Panel>,
    pub portrait: bool,
    /// Whether the board is a wafer (Cerebras) drawn as a circle behind the tiles.
    pub wafer: bool,
}

/// Bank pitch in physical pixels: 4-px banks with a 1-px gap.
pub const BANK_PITCH_PX: f32 = 5.0;
/// Text line height at ui = 1, logical px.
pub const LINE: f32 = 20.0;
/// Body text size at ui = 1, logical px.
pub const BODY: f32 = 14.5;

/// Spacing of a layout: margins, panel padding and text lines, all growing with the ui scale.
struct Spacing {
    ui: f32,
    /// Margin between panels and around the screen.
    m: f32,
    /// Padding inside a panel.
    pad: f32,
    line: f32,
}

impl Spacing {
    fn new(ui: f32) -> Spacing {
        Spacing {
            ui,
            m: (14.0 * ui).round().max(6.0),
            pad: 12.0 * ui,
            line: LINE * ui,
        }
    }

    /// Height of a panel of `lines` lines.
    fn panel_h(&self, lines: u32) -> f32 {
        lines as f32 * self.line + 2.0 * self.pad
    }
}

fn panel(kind: PanelKind, rect: Rect, lines: u32) -> Panel {
    Panel { kind, rect, lines }
}

/// Landscape: info, formula, papers and factoids down the left; banner, board and legend in the
/// middle; warnings and controls down the right. Returns the panels and the board.
fn landscape(w: f32, h: f32, k: &Spacing) -> (Vec<Panel>, Rect) {
    let (ui, m) = (k.ui, k.m);
    let mut panels = Vec::new();
    let lw = (400.0 * ui).min(w * 0.3);
    let rw = (270.0 * ui).min(w * 0.2);
    let cx = m + lw + m;
    let cw = w - cx - m - rw - m;
    let banner = Rect::new(cx, m, cw, 44.0 * ui);
    panels.push(panel(PanelKind::Banner, banner, 1));
    let legend_h = k.panel_h(2);
    let legend = Rect::new(cx, h - m - legend_h, cw, legend_h);
    panels.push(panel(PanelKind::Legend, legend, 2));
    let board = Rect::new(
        cx,
        banner.bottom() + m,
        cw,
        legend.y - m - (banner.bottom() + m),
    );
    // Left column: info, formula, then papers and factoids while they fit.
    let mut y = m;
    for (kind, lines) in [
        (PanelKind::Info, 12),
        (PanelKind::Formula, 8),
        (PanelKind::Papers, 4),
        (PanelKind::Factoids, 5),
    ] {
        let ph = k.panel_h(lines);
        if y + ph <= h - m {
            panels.push(panel(kind, Rect::new(m, y, lw, ph), lines));
            y += ph + m;
        }
    }
    // Right column: warnings, controls.
    let rx = w - m - rw;
    let warn_h = k.panel_h(11);
    panels.push(panel(PanelKind::Warning, Rect::new(rx, m, rw, warn_h), 11));
    let cy = m + warn_h + m;
    let lines = (((h - m - cy) - 2.0 * k.pad) / k.line)
        .floor()
        .clamp(0.0, 18.0) as u32;
    if lines >= 3 {
        let rect = Rect::new(rx, cy, rw, k.panel_h(lines));
        panels.push(panel(PanelKind::Controls, rect, lines));
    }
    (panels, board)
}

/// Portrait: banner on top; info beside formula and warnings; the board; the legend; controls
/// beside papers and factoids at the bottom. Returns the panels and the board.
fn portrait(w: f32, h: f32, k: &Spacing) -> (Vec<Panel>, Rect) {
    let (ui, m) = (k.ui, k.m);
    let mut panels = Vec::new();
    let half = (w - 3.0 * m) / 2.0;
    let banner = Rect::new(m, m, w - 2.0 * m, 44.0 * ui);
    panels.push(panel(PanelKind::Banner, banner, 1));
    let top = banner.bottom() + m;
    let info_h = k.panel_h(12);
    panels.push(panel(PanelKind::Info, Rect::new(m, top, half, info_h), 12));
    let formula = Rect::new(2.0 * m + half, top, half, k.panel_h(6));
    panels.push(panel(PanelKind::Formula, formula, 6));
    let wy = top + k.panel_h(6) + m;
    let warn_h = info_h - k.panel_h(6) - m;
    let warn_lines = ((warn_h - 2.0 * k.pad) / k.line).floor().max(1.0) as u32;
    let warning = Rect::new(2.0 * m + half, wy, half, warn_h);
    panels.push(panel(PanelKind::Warning, warning, warn_lines));
    // Controls: a title, 12 keys, a blank line and the state line.
    let bottom_h = k.panel_h(15);
    let by = h - m - bottom_h;
    panels.push(panel(
        PanelKind::Controls,
        Rect::new(m, by, half, bottom_h),
        15,
    ));
    let papers_h = k.panel_h(5);
    let papers = Rect::new(2.0 * m + half, by, half, papers_h);
    panels.push(panel(PanelKind::Papers, papers, 5));
    let fy = by + papers_h + m;
    if h - m - fy >= k.panel_h(5) {
        let factoids = Rect::new(2.0 * m + half, fy, half, h - m - fy);
        panels.push(panel(PanelKind::Factoids, factoids, 5));
    }
    let legend_h = k.panel_h(2);
    let legend = Rect::new(m, by - m - legend_h, w - 2.0 * m, legend_h);
    panels.push(panel(PanelKind::Legend, legend, 2));
    let btop = top + info_h + m;
    let board = Rect::new(m, btop, w - 2.0 * m, legend.y - m - btop);
    (panels, board)
}

/// Each active package's bank grid: as many banks of `bank` px at `pitch` as its inside holds.
fn size_grids(modules: &mut [Module], ui: f32, pitch: f32, bank: f32) {
    for md in modules {
        let inner = md.rect.inset((5.0 * ui).max(2.0));
        md.inner = inner;
        if md.active {
            md.cols = ((inner.w + pitch - bank) / pitch).floor().max(0.0) as u32;
            md.rows = ((inner.h + pitch - bank) / pitch).floor().max(0.0) as u32;
        }
    }
}

impl Layout {
    /// Lays out a window of `width` x `height` physical pixels at `scale` for a GPU.
    pub fn compute(width: u32, height: u32, scale: f32, gpu: &Gpu) -> Layout {
        let scale = if scale.is_finite() && scale > 0.0 {
            scale.clamp(0.25, 8.0)
        } else {
            1.0
        };
        let w = (width.max(1) as f32) / scale;
        let h = (height.max(1) as f32) / scale;
        let portrait = w < h * 1.1;
        let ui = if portrait {
            (w / 1080.0).min(h / 1920.0)
        } else {
            (w / 1920.0).min(h / 1080.0)
        }
        .clamp(0.62, 3.0);
        let spacing = Spacing::new(ui);
        let (panels, board) = if portrait {
            self::portrait(w, h, &spacing)
        } else {
            landscape(w, h, &spacing)
        };
        let pitch = BANK_PITCH_PX / scale;
        let bank = (BANK_PITCH_PX - 1.0) / scale;
        let (die, mut modules, wafer) = board_geometry(board, gpu, ui);
        size_grids(&mut modules, ui, pitch, bank);
        Layout {
            width: w,
            height: h,
            scale,
            ui,
            board,
            die,
            modules,
            bank_pitch: pitch,
            bank_size: bank,
            panels,
            portrait,
            wafer,
        }
    }

    pub fn panel(&self, kind: PanelKind) -> Option<&Panel> {
        self.panels.iter().find(|p| p.kind == kind)
    }

    /// Banks the grids can hold.
    pub fn bank_capacity(&self) -> u32 {
        self.modules.iter().map(Module::capacity).sum()
    }

    /// Every pair of rectangles (panels, die, modules) that overlap; empty when the layout is sound.
    pub fn overlaps(&self) -> Vec<String> {
        let mut rects: Vec<(String, Rect)> = self
            .panels
            .iter()
            .map(|p| (format!("{:?}", p.kind), p.rect))
            .collect();
        rects.push(("die".into(), self.die));
        for (i, m) in self.modules.iter().enumerate() {
            rects.push((format!("module {i}"), m.rect));
        }
        let mut out = Vec::new();
        for i in 0..rects.len() {
            for j in i + 1..rects.len() {
                if rects[i].1.intersects(&rects[j].1) {
                    out.push(format!("{} overlaps {}", rects[i].0, rects[j].0));
                }
            }
            let screen = Rect::new(0.0, 0.0, self.width, self.height);
            if !screen.contains(&rects[i].1) || rects[i].1.w <= 0.0 || rects[i].1.h <= 0.0 {
                out.push(format!(
                    "{} is off screen or empty: {:?}",
                    rects[i].0, rects[i].1
                ));
            }
        }
        out
    }

    /// Top-left corner of bank `k` of module `m` (row-major), logical px.
    pub fn bank_origin(&self, m: &Module, k: u32) -> Vec2 {
        let col = k % m.cols.max(1);
        let row = k / m.cols.max(1);
        // Centre the grid in the module.
        let gw = m.cols as f32 * self.bank_pitch - (self.bank_pitch - self.bank_size);
        let gh = m.rows as f32 * self.bank_pitch - (self.bank_pitch - self.bank_size);
        let ox = m.inner.x + (m.inner.w - gw).max(0.0) / 2.0;
        let oy = m.inner.y + (m.inner.h - gh).max(0.0) / 2.0;
        Vec2::new(
            ox + col as f32 * self.bank_pitch,
            oy + row as f32 * self.bank_pitch,
        )
    }
}

/// Regions a wafer-scale die is drawn in (a drawing, not a count of packages: the wafer is one die).
pub const WAFER_REGIONS: usize = 84;

/// A package site with no grid yet (`size_grids` gives it one).
fn module(rect: Rect, active: bool) -> Module {
    Module {
        rect,
        inner: rect,
        cols: 0,
        rows: 0,
        active,
    }
}

/// Die and package rectangles on the board for a GPU's memory type and package count, and whether
/// the board is a wafer.
fn board_geometry(b: Rect, gpu: &Gpu, ui: f32) -> (Rect, Vec<Module>, bool) {
    let g = (10.0 * ui).round().max(3.0);
    let total = gpu.packages.max(1) as usize + gpu.inactive_packages as usize;
    if gpu.wafer {
        // One wafer-scale die, drawn as its 12 x 7 grid of reticle-sized regions of SRAM.
        return wafer_grid(b, WAFER_REGIONS, 0, g);
    }
    let ring = gpu.memory_type.is_gddr() || (gpu.memory_type == MemoryType::Sram && total >= 4);
    let (die, mut mods) = if ring {
        self::ring(b, total, g)
    } else {
        columns(b, total, g)
    };
    // Disabled sites are the last ones drawn (bottom right).
    for md in mods.iter_mut().rev().take(gpu.inactive_packages as usize) {
        md.active = false;
    }
    // A single package: one column only, the die to its right.
    if !ring && total == 1 {
        let d = die.w;
        let die = Rect::new(b.right() - d, b.y + (b.h - d) / 2.0, d, d);
        mods[0] = module(Rect::new(b.x, b.y, (b.w - d - g).max(1.0), b.h), true);
        return (die, mods, false);
    }
    (die, mods, gpu.memory_type == MemoryType::Sram && ring)
}

/// HBM (and small SRAM counts): `total` stacks in two columns beside the die, as on the package.
fn columns(b: Rect, total: usize, g: f32) -> (Rect, Vec<Module>) {
    let d = (b.h * 0.62).min(b.w * 0.3);
    let cw = ((b.w - d - 2.0 * g) / 2.0).max(1.0);
    let die = Rect::new(b.x + cw + g, b.y + (b.h - d) / 2.0, d, d);
    let left = total.div_ceil(2);
    let right = total - left;
    let mut mods = Vec::new();
    for (col, n) in [(0usize, left), (1usize, right)] {
        if n == 0 {
            continue;
        }
        let mh = (b.h - (n as f32 - 1.0) * g) / n as f32;
        let x = if col == 0 { b.x } else { die.right() + g };
        for i in 0..n {
            mods.push(module(
                Rect::new(x, b.y + i as f32 * (mh + g), cw, mh),
                true,
            ));
        }
    }
    (die, mods)
}

/// GDDR chips and SRAM tiles: `total` packages in a ring around the die (top, bottom, left,
/// right).
fn ring(b: Rect, total: usize, g: f32) -> (Rect, Vec<Module>) {
    let d = b.w.min(b.h) * 0.4;
    let rh = ((b.h - d - 2.0 * g) / 2.0).max(1.0);
    let cw = ((b.w - d - 2.0 * g) / 2.0).max(1.0);
    let die = Rect::new(b.x + cw + g, b.y + rh + g, d, d);
    let per_side = total / 4;
    let extra = total % 4;
    // Many chips on a small screen: tighten the gaps.
    let g = g.min(d / (per_side as f32 + 1.0) / 4.0).max(1.0);
    let counts = [
        per_side + usize::from(extra > 0),
        per_side + usize::from(extra > 1),
        per_side + usize::from(extra > 2),
        per_side,
    ];
    let mut mods = Vec::new();
    for (side, &n) in counts.iter().enumerate().filter(|(_, n)| **n > 0) {
        let nf = n as f32;
        if side < 2 {
            let mw = (b.w - (nf - 1.0) * g) / nf;
            let y = if side == 0 { b.y } else { b.bottom() - rh };
            for i in 0..n {
                mods.push(module(
                    Rect::new(b.x + i as f32 * (mw + g), y, mw, rh),
                    true,
                ));
            }
        } else {
            let mh = (d - (nf - 1.0) * g) / nf;
            let x = if side == 2 { b.x } else { die.right() + g };
            for i in 0..n {
                mods.push(module(
                    Rect::new(x, die.y + i as f32 * (mh + g), cw, mh),
                    true,
                ));
            }
        }
    }
    (die, mods)
}

/// A wafer (Cerebras): a grid of SRAM tiles filling the board, the compute region (where the
/// attention line and flash tiles go) in the middle 2x2 cells.
fn wafer_grid(b: Rect, total: usize, inactive: usize, g: f32) -> (Rect, Vec<Module>, bool) {
    let aspect = (b.w / b.h.max(1.0)).max(0.1);
    // Smallest grid with c/r close to the board's aspect that holds the tiles plus the 2x2 centre.
    let mut best = (usize::MAX, 4usize, 4usize);
    for r in 4..=64usize {
        let c = ((r as f32 * aspect).round() as usize).max(4);
        if c * r >= total + 4 {
            let waste = c * r - total - 4;
            if waste < best.0 {
                best = (waste, c, r);
            }
            break;
        }
    }
    let (_, c, r) = best;
    let cw = b.w / c as f32;
    let ch = b.h / r as f32;
    let g = g.min(cw.min(ch) / 6.0).max(1.0);
    let (c0, r0) = (c / 2 - 1, r / 2 - 1);
    let die = Rect::new(
        b.x + c0 as f32 * cw + g / 2.0,
        b.y + r0 as f32 * ch + g / 2.0,
        2.0 * cw - g,
        2.0 * ch - g,
    );
    let mut mods = Vec::new();
    'cells: for row in 0..r {
        for col in 0..c {
            if (c0..c0 + 2).contains(&col) && (r0..r0 + 2).contains(&row) {
                continue;
            }
            if mods.len() == total {
                break 'cells;
            }
            mods.push(Module {
                rect: Rect::new(
                    b.x + col as f32 * cw + g / 2.0,
                    b.y + row as f32 * ch + g / 2.0,
                    cw - g,
                    ch - g,
                ),
                inner: Rect::default(),
                cols: 0,
                rows: 0,
                active: true,
            });
        }
    }
    for md in mods.iter_mut().rev().take(inactive) {
        md.active = false;
    }
    (die, mods, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    #[test]
    fn no_overlaps_at_any_size_or_scale() {
        let c = Catalog::builtin().unwrap();
        for gpu in &c.gpus {
            for (w, h) in [
                (1280, 720),
                (1920, 1080),
                (2560, 1440),
                (3840, 2160),
                (7680, 4320),
                (1080, 1920),
                (2160, 3840),
            ] {
                for s in [1.0, 2.0] {
                    let l = Layout::compute(w, h, s, gpu);
                    let o = l.overlaps();
                    assert!(o.is_empty(), "{} at {w}x{h}@{s}: {o:?}", gpu.id);
                    for k in [
                        PanelKind::Info,
                        PanelKind::Formula,
                        PanelKind::Legend,
                        PanelKind::Banner,
                    ] {
                        assert!(l.panel(k).is_some(), "{:?} missing at {w}x{h}@{s}", k);
                    }
                }
            }
        }
    }

    #[test]
    fn bank_counts_follow_the_screen() {
        let c = Catalog::builtin().unwrap();
        let h100 = c.gpu("h100").unwrap();
        let hd = Layout::compute(1920, 1080, 1.0, h100).bank_capacity();
        let uhd = Layout::compute(3840, 2160, 1.0, h100).bank_capacity();
        assert!(hd >= 20_000, "{hd}");
        assert!(uhd >= 80_000, "{uhd}");
        // The same physical 4K screen at scale 2 keeps its physical-pixel banks.
        let uhd2 = Layout::compute(3840, 2160, 2.0, h100).bank_capacity();
        assert!(uhd2 >= 80_000, "{uhd2}");
        // The H100's sixth, disabled HBM site holds no banks.
        let l = Layout::compute(1920, 1080, 1.0, h100);
        assert_eq!(l.modules.len(), 6);
        assert_eq!(l.modules.iter().filter(|m| m.active).count(), 5);
    }
}
