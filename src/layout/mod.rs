//! Geometry in logical pixels from (window size, scale factor, Scene): the board (die and memory
//! packages with their bank grids) and the text panels. No wgpu here. Nothing overlaps from
//! 1280x720 to 7680x4320, portrait too (tested).

pub mod memory;
pub mod palette;
pub mod panels;

use crate::catalog::{Gpu, MemoryType};

/// An axis-aligned rectangle in logical pixels.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rect {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

impl Rect {
    pub fn new(x: f32, y: f32, w: f32, h: f32) -> Rect {
        Rect {
            x,
            y,
            w: w.max(0.0),
            h: h.max(0.0),
        }
    }
    pub fn right(&self) -> f32 {
        self.x + self.w
    }
    pub fn bottom(&self) -> f32 {
        self.y + self.h
    }
    pub fn inset(&self, d: f32) -> Rect {
        Rect::new(self.x + d, self.y + d, self.w - 2.0 * d, self.h - 2.0 * d)
    }
    /// True when the interiors overlap.
    pub fn intersects(&self, o: &Rect) -> bool {
        self.x < o.right() && o.x < self.right() && self.y < o.bottom() && o.y < self.bottom()
    }
    pub fn contains(&self, o: &Rect) -> bool {
        o.x >= self.x - 0.01
            && o.y >= self.y - 0.01
            && o.right() <= self.right() + 0.01
            && o.bottom() <= self.bottom() + 0.01
    }
    pub fn center(&self) -> (f32, f32) {
        (self.x + self.w / 2.0, self.y + self.h / 2.0)
    }
}

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
        let m = (14.0 * ui).round().max(6.0);
        let pad = 12.0 * ui;
        let line = LINE * ui;
        let panel_h = |lines: u32| lines as f32 * line + 2.0 * pad;
        let mut panels = Vec::new();
        let board;
        if !portrait {
            let lw = (400.0 * ui).min(w * 0.3);
            let rw = (270.0 * ui).min(w * 0.2);
            let cx = m + lw + m;
            let cw = w - cx - m - rw - m;
            let banner = Rect::new(cx, m, cw, 44.0 * ui);
            panels.push(Panel {
                kind: PanelKind::Banner,
                rect: banner,
                lines: 1,
            });
            let legend_h = panel_h(2);
            let legend = Rect::new(cx, h - m - legend_h, cw, legend_h);
            panels.push(Panel {
                kind: PanelKind::Legend,
                rect: legend,
                lines: 2,
            });
            board = Rect::new(
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
                let ph = panel_h(lines);
                if y + ph <= h - m {
                    panels.push(Panel {
                        kind,
                        rect: Rect::new(m, y, lw, ph),
                        lines,
                    });
                    y += ph + m;
                }
            }
            // Right column: warnings, controls.
            let rx = w - m - rw;
            let warn_h = panel_h(11);
            panels.push(Panel {
                kind: PanelKind::Warning,
                rect: Rect::new(rx, m, rw, warn_h),
                lines: 11,
            });
            let cy = m + warn_h + m;
            let lines = (((h - m - cy) - 2.0 * pad) / line).floor().clamp(0.0, 18.0) as u32;
            if lines >= 3 {
                panels.push(Panel {
                    kind: PanelKind::Controls,
                    rect: Rect::new(rx, cy, rw, panel_h(lines)),
                    lines,
                });
            }
        } else {
            let half = (w - 3.0 * m) / 2.0;
            let banner = Rect::new(m, m, w - 2.0 * m, 44.0 * ui);
            panels.push(Panel {
                kind: PanelKind::Banner,
                rect: banner,
                lines: 1,
            });
            let top = banner.bottom() + m;
            let info_h = panel_h(12);
            panels.push(Panel {
                kind: PanelKind::Info,
                rect: Rect::new(m, top, half, info_h),
                lines: 12,
            });
            panels.push(Panel {
                kind: PanelKind::Formula,
                rect: Rect::new(2.0 * m + half, top, half, panel_h(6)),
                lines: 6,
            });
            let wy = top + panel_h(6) + m;
            let warn_h = info_h - panel_h(6) - m;
            let warn_lines = ((warn_h - 2.0 * pad) / line).floor().max(1.0) as u32;
            panels.push(Panel {
                kind: PanelKind::Warning,
                rect: Rect::new(2.0 * m + half, wy, half, warn_h),
                lines: warn_lines,
            });
            // Controls: a title, 12 keys, a blank line and the state line.
            let bottom_h = panel_h(15);
            let by = h - m - bottom_h;
            panels.push(Panel {
                kind: PanelKind::Controls,
                rect: Rect::new(m, by, half, bottom_h),
                lines: 15,
            });
            let papers_h = panel_h(5);
            panels.push(Panel {
                kind: PanelKind::Papers,
                rect: Rect::new(2.0 * m + half, by, half, papers_h),
                lines: 5,
            });
            let fy = by + papers_h + m;
            if h - m - fy >= panel_h(5) {
                panels.push(Panel {
                    kind: PanelKind::Factoids,
                    rect: Rect::new(2.0 * m + half, fy, half, h - m - fy),
                    lines: 5,
                });
            }
            let legend_h = panel_h(2);
            let legend = Rect::new(m, by - m - legend_h, w - 2.0 * m, legend_h);
            panels.push(Panel {
                kind: PanelKind::Legend,
                rect: legend,
                lines: 2,
            });
            let btop = top + info_h + m;
            board = Rect::new(m, btop, w - 2.0 * m, legend.y - m - btop);
        }

        let pitch = BANK_PITCH_PX / scale;
        let bank = (BANK_PITCH_PX - 1.0) / scale;
        let (die, mut modules, wafer) = board_geometry(board, gpu, ui);
        for md in &mut modules {
            let inner = md.rect.inset((5.0 * ui).max(2.0));
            md.inner = inner;
            if md.active {
                md.cols = ((inner.w + pitch - bank) / pitch).floor().max(0.0) as u32;
                md.rows = ((inner.h + pitch - bank) / pitch).floor().max(0.0) as u32;
            }
        }
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
    pub fn bank_origin(&self, m: &Module, k: u32) -> (f32, f32) {
        let col = k % m.cols.max(1);
        let row = k / m.cols.max(1);
        // Centre the grid in the module.
        let gw = m.cols as f32 * self.bank_pitch - (self.bank_pitch - self.bank_size);
        let gh = m.rows as f32 * self.bank_pitch - (self.bank_pitch - self.bank_size);
        let ox = m.inner.x + (m.inner.w - gw).max(0.0) / 2.0;
        let oy = m.inner.y + (m.inner.h - gh).max(0.0) / 2.0;
        (
            ox + col as f32 * self.bank_pitch,
            oy + row as f32 * self.bank_pitch,
        )
    }
}

/// Regions a wafer-scale die is drawn in (a drawing, not a count of packages: the wafer is one die).
pub const WAFER_REGIONS: usize = 84;

/// Die and package rectangles on the board for a GPU's memory type and package count.
fn board_geometry(b: Rect, gpu: &Gpu, ui: f32) -> (Rect, Vec<Module>, bool) {
    let g = (10.0 * ui).round().max(3.0);
    let active = gpu.packages.max(1) as usize;
    let total = active + gpu.inactive_packages as usize;
    let module = |r: Rect, active: bool| Module {
        rect: r,
        inner: r,
        cols: 0,
        rows: 0,
        active,
    };
    if gpu.wafer {
        // One wafer-scale die, drawn as its 12 x 7 grid of reticle-sized regions of SRAM.
        return wafer_grid(b, WAFER_REGIONS, 0, g);
    }
    let ring = gpu.memory_type.is_gddr() || (gpu.memory_type == MemoryType::Sram && total >= 4);
    if !ring {
        // HBM (and small SRAM counts): stacks in two columns beside the die, as on the package.
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
        // Disabled sites are the last ones drawn (bottom right).
        for md in mods.iter_mut().rev().take(gpu.inactive_packages as usize) {
            md.active = false;
        }
        // A single package: one column only, die to the right.
        if right == 0 {
            let die = Rect::new(b.right() - d, b.y + (b.h - d) / 2.0, d, d);
            let w = b.w - d - g;
            mods[0] = module(Rect::new(b.x, b.y, w.max(1.0), b.h), true);
            return (die, mods, false);
        }
        return (die, mods, false);
    }
    // GDDR chips and SRAM tiles: a ring around the die.
    let d = b.w.min(b.h) * 0.4;
    let rh = ((b.h - d - 2.0 * g) / 2.0).max(1.0);
    let cw = ((b.w - d - 2.0 * g) / 2.0).max(1.0);
    let die = Rect::new(b.x + cw + g, b.y + rh + g, d, d);
    let per_side = total / 4;
    let extra = total % 4;
    // Many chips on a small screen: tighten the gaps.
    let g = g.min(d / (per_side as f32 + 1.0) / 4.0).max(1.0);
    // top, bottom, left, right
    let counts = [
        per_side + usize::from(extra > 0),
        per_side + usize::from(extra > 1),
        per_side + usize::from(extra > 2),
        per_side,
    ];
    let mut mods = Vec::new();
    for (side, &n) in counts.iter().enumerate() {
        if n == 0 {
            continue;
        }
        let nf = n as f32;
        match side {
            0 | 1 => {
                let mw = (b.w - (nf - 1.0) * g) / nf;
                let y = if side == 0 { b.y } else { b.bottom() - rh };
                for i in 0..n {
                    mods.push(module(
                        Rect::new(b.x + i as f32 * (mw + g), y, mw, rh),
                        true,
                    ));
                }
            }
            _ => {
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
    }
    for md in mods.iter_mut().rev().take(gpu.inactive_packages as usize) {
        md.active = false;
    }
    (die, mods, gpu.memory_type == MemoryType::Sram)
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
