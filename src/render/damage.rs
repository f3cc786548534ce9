//! Damage: which parts of a frame differ from the frame before. On a software adapter a frame that
//! keeps its pixels between frames (the copy presenter's target) is brought up to date only where
//! something changed, and only those parts are read back and handed to the window: at 3840x2160 a
//! whole frame is 33 MB, and every full copy of it is a few milliseconds of memcpy.
//!
//! Damage is kept as a grid of `TILE` x `TILE` physical-pixel tiles (coarse on purpose: a few
//! thousand flags, marked from rectangles and from the convex hulls particles travel in) and read
//! out as disjoint rectangles.

use crate::frame::PxRect;

/// Side of a damage tile, physical px.
pub const TILE: u32 = 32;

/// Damaged tiles of a `width` x `height` frame.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tiles {
    width: u32,
    height: u32,
    cols: u32,
    rows: u32,
    on: Vec<bool>,
}

/// A rectangle in physical px as floats: x, y, w, h.
pub type FRect = [f32; 4];

impl Tiles {
    /// No damage, on a `w` x `h` frame (keeps its storage when the size is unchanged).
    pub fn reset(&mut self, w: u32, h: u32) {
        self.width = w;
        self.height = h;
        self.cols = w.div_ceil(TILE);
        self.rows = h.div_ceil(TILE);
        self.on.clear();
        self.on.resize((self.cols * self.rows) as usize, false);
    }

    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    pub fn clear(&mut self) {
        self.on.iter_mut().for_each(|t| *t = false);
    }

    /// Everything damaged.
    pub fn fill(&mut self) {
        self.on.iter_mut().for_each(|t| *t = true);
    }

    pub fn is_empty(&self) -> bool {
        !self.on.iter().any(|&t| t)
    }

    /// Damaged physical pixels (whole tiles, clipped to the frame).
    pub fn area(&self) -> u64 {
        let mut n = 0;
        for r in 0..self.rows {
            for c in 0..self.cols {
                if self.on[(r * self.cols + c) as usize] {
                    let w = (self.width - c * TILE).min(TILE);
                    let h = (self.height - r * TILE).min(TILE);
                    n += w as u64 * h as u64;
                }
            }
        }
        n
    }

    /// Tiles of row `row` from physical x `x0` to `x1` (clamped to the frame).
    fn mark_span(&mut self, row: u32, x0: f32, x1: f32) {
        if row >= self.rows || x1 < 0.0 || x0 >= self.width as f32 || x1 < x0 {
            return;
        }
        let c0 = (x0.max(0.0) as u32 / TILE).min(self.cols - 1);
        let c1 = (x1.max(0.0) as u32 / TILE).min(self.cols - 1);
        let base = (row * self.cols) as usize;
        self.on[base + c0 as usize..=base + c1 as usize]
            .iter_mut()
            .for_each(|t| *t = true);
    }

    /// Tile rows covering physical y `y0..y1`.
    fn rows_of(&self, y0: f32, y1: f32) -> std::ops::Range<u32> {
        if self.rows == 0 || y1 < 0.0 || y0 >= self.height as f32 || y1 < y0 {
            return 0..0;
        }
        let a = y0.max(0.0) as u32 / TILE;
        let b = (y1.max(0.0) as u32 / TILE).min(self.rows - 1);
        a..b + 1
    }

    /// A rectangle in physical px.
    pub fn mark(&mut self, r: &PxRect) {
        if r[2] == 0 || r[3] == 0 {
            return;
        }
        let f = [
            r[0] as f32,
            r[1] as f32,
            r[2] as f32 - 1.0,
            r[3] as f32 - 1.0,
        ];
        self.mark_f(f, 0.0);
    }

    /// A rectangle in physical px (floats), grown by `margin` on every side.
    pub fn mark_f(&mut self, r: FRect, margin: f32) {
        let (x0, x1) = (r[0] - margin, r[0] + r[2] + margin);
        for row in self.rows_of(r[1] - margin, r[1] + r[3] + margin) {
            self.mark_span(row, x0, x1);
        }
    }

    /// The convex hull of rectangles `a` and `b` (physical px), grown by `margin`: every segment
    /// from a point of one to a point of the other lies in it.
    pub fn mark_hull(&mut self, a: FRect, b: FRect, margin: f32) {
        let a = grow(a, margin);
        let b = grow(b, margin);
        let top = a[1].min(b[1]);
        let bottom = (a[1] + a[3]).max(b[1] + b[3]);
        for row in self.rows_of(top, bottom) {
            let y0 = (row * TILE) as f32;
            let y1 = y0 + TILE as f32;
            if let Some((x0, x1)) = hull_span(&a, &b, y0, y1) {
                self.mark_span(row, x0, x1);
            }
        }
    }

    /// Adds `other`'s damage (same frame size; otherwise everything is damaged).
    pub fn union(&mut self, other: &Tiles) {
        if other.size() != self.size() {
            self.fill();
            return;
        }
        for (t, o) in self.on.iter_mut().zip(&other.on) {
            *t |= *o;
        }
    }

    /// Keeps only the damage `other` shares (same frame size; otherwise none is kept).
    pub fn intersect(&mut self, other: &Tiles) {
        if other.size() != self.size() {
            self.clear();
            return;
        }
        for (t, o) in self.on.iter_mut().zip(&other.on) {
            *t &= *o;
        }
    }

    /// The damage as disjoint rectangles (runs of tiles along each row, joined downwards where
    /// the rows below repeat them), clipped to the frame, into `out` (cleared first).
    pub fn rects(&self, out: &mut Vec<PxRect>) {
        out.clear();
        // Indices into `out` of the last row's runs, to extend downwards.
        let mut open: Vec<usize> = Vec::new();
        let mut next: Vec<usize> = Vec::new();
        for r in 0..self.rows {
            next.clear();
            let y = r * TILE;
            let h = (self.height - y).min(TILE);
            let mut c = 0;
            while c < self.cols {
                if !self.on[(r * self.cols + c) as usize] {
                    c += 1;
                    continue;
                }
                let start = c;
                while c < self.cols && self.on[(r * self.cols + c) as usize] {
                    c += 1;
                }
                let x = start * TILE;
                let w = (c * TILE).min(self.width) - x;
                let above = open
                    .iter()
                    .copied()
                    .find(|&i| out[i][0] == x && out[i][2] == w && out[i][1] + out[i][3] == y);
                match above {
                    Some(i) => {
                        out[i][3] += h;
                        next.push(i);
                    }
                    None => {
                        out.push([x, y, w, h]);
                        next.push(out.len() - 1);
                    }
                }
            }
            std::mem::swap(&mut open, &mut next);
        }
    }
}

fn grow(r: FRect, m: f32) -> FRect {
    [r[0] - m, r[1] - m, r[2] + 2.0 * m, r[3] + 2.0 * m]
}

fn corners(r: &FRect) -> [[f32; 2]; 4] {
    let (x0, y0, x1, y1) = (r[0], r[1], r[0] + r[2], r[1] + r[3]);
    [[x0, y0], [x1, y0], [x0, y1], [x1, y1]]
}

/// The x extent of the convex hull of `a` and `b` between heights `y0` and `y1`. The extreme points
/// of the hull cut by the band are corners inside the band or points where a hull edge crosses
/// one of its lines; every hull edge is an edge of a rectangle or joins a corner of one to a
/// corner of the other, so trying all of those finds them (the rest lie inside the hull).
fn hull_span(a: &FRect, b: &FRect, y0: f32, y1: f32) -> Option<(f32, f32)> {
    let mut lo = f32::INFINITY;
    let mut hi = f32::NEG_INFINITY;
    let mut take = |x: f32| {
        lo = lo.min(x);
        hi = hi.max(x);
    };
    for r in [a, b] {
        // A rectangle's own part of the band.
        if r[1] <= y1 && r[1] + r[3] >= y0 {
            take(r[0]);
            take(r[0] + r[2]);
        }
    }
    for p in corners(a) {
        for q in corners(b) {
            let (ya, yb) = (p[1].min(q[1]), p[1].max(q[1]));
            if yb < y0 || ya > y1 {
                continue;
            }
            for y in [y0, y1] {
                if (ya..=yb).contains(&y) && yb > ya {
                    let t = (y - p[1]) / (q[1] - p[1]);
                    take(p[0] + t * (q[0] - p[0]));
                }
            }
            // A segment entirely inside the band (or level).
            if ya >= y0 && yb <= y1 {
                take(p[0]);
                take(q[0]);
            }
        }
    }
    (lo <= hi).then_some((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn covered(rects: &[PxRect], x: u32, y: u32) -> usize {
        rects
            .iter()
            .filter(|r| x >= r[0] && x < r[0] + r[2] && y >= r[1] && y < r[1] + r[3])
            .count()
    }

    #[test]
    fn rectangles_become_disjoint_tile_rectangles() {
        let mut t = Tiles::default();
        t.reset(100, 70);
        t.mark(&[10, 10, 5, 5]);
        t.mark(&[40, 0, 30, 70]);
        let mut out = Vec::new();
        t.rects(&mut out);
        // Tile (0,0) from the first and tiles x 32..96 (columns 1 and 2) from the second make one
        // run in the top row; below, the second alone (the last row is 6 px tall).
        assert_eq!(out, vec![[0, 0, 96, 32], [32, 32, 64, 38]]);
        assert_eq!(t.area(), 32 * 32 + 64 * 70);
        for y in 0..70 {
            for x in 0..100 {
                assert!(covered(&out, x, y) <= 1);
            }
        }
        // The last column is 4 px wide; the frame ends there.
        t.fill();
        t.rects(&mut out);
        assert_eq!(out, vec![[0, 0, 100, 70]]);
        t.clear();
        assert!(t.is_empty());
        t.rects(&mut out);
        assert!(out.is_empty());
        // Off the frame: nothing.
        t.mark(&[500, 500, 10, 10]);
        assert!(t.is_empty());
    }

    #[test]
    fn a_hull_holds_every_segment_between_its_rectangles() {
        let mut t = Tiles::default();
        t.reset(640, 480);
        let a = [20.0, 20.0, 60.0, 30.0];
        let b = [400.0, 300.0, 100.0, 80.0];
        t.mark_hull(a, b, 1.0);
        let mut out = Vec::new();
        t.rects(&mut out);
        // Segments from corners and inner points of a to those of b.
        for i in 0..=10 {
            for j in 0..=10 {
                let p = [a[0] + a[2] * i as f32 / 10.0, a[1] + a[3] * j as f32 / 10.0];
                let q = [b[0] + b[2] * j as f32 / 10.0, b[1] + b[3] * i as f32 / 10.0];
                for k in 0..=50 {
                    let s = k as f32 / 50.0;
                    let x = p[0] + s * (q[0] - p[0]);
                    let y = p[1] + s * (q[1] - p[1]);
                    assert_eq!(covered(&out, x as u32, y as u32), 1, "({x}, {y})");
                }
            }
        }
        // It is a corridor, not the bounding box: the corners away from the diagonal stay clean.
        assert_eq!(covered(&out, 600, 10), 0);
        assert_eq!(covered(&out, 10, 470), 0);
        assert!(t.area() < 640 * 480 / 2, "{}", t.area());
    }

    #[test]
    fn unions_of_other_sizes_damage_everything() {
        let mut a = Tiles::default();
        a.reset(64, 64);
        let mut b = Tiles::default();
        b.reset(64, 64);
        b.mark(&[33, 33, 1, 1]);
        a.union(&b);
        assert_eq!(a.area(), 32 * 32);
        let mut c = Tiles::default();
        c.reset(10, 10);
        a.union(&c);
        assert_eq!(a.area(), 64 * 64);
    }
}
