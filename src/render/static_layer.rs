//! The static layer: what changes rarely (panel and package backgrounds, the die, the banks, the
//! settled text) kept in an offscreen texture, redrawn only where it changed, and copied into each
//! frame. On a software adapter every covered pixel costs, and a copy is a memcpy. Here: the rows of
//! banks waiting to be redrawn into it (taken a budget at a time), and the rectangles of the frame
//! that are copied from it.

use crate::frame::PxRect;
use std::ops::Range;

/// A rectangle (x, y, w, h) clipped to a w x h target; None when nothing is left.
pub fn clip(r: &PxRect, w: u32, h: u32) -> Option<PxRect> {
    let x = r[0].min(w);
    let y = r[1].min(h);
    let cw = r[2].min(w - x);
    let ch = r[3].min(h - y);
    (cw > 0 && ch > 0).then_some([x, y, cw, ch])
}

/// Rows of banks waiting to be redrawn into the static layer: a flag per row, taken a budget at a
/// time in round-robin order (so every row gets its turn however much keeps changing), plus rows
/// that go first whatever the budget.
#[derive(Clone, Debug, Default)]
pub struct DirtyRows {
    flags: Vec<bool>,
    count: u32,
    cursor: u32,
    urgent: Vec<Range<u32>>,
}

impl DirtyRows {
    /// `rows` rows, none waiting.
    pub fn reset(&mut self, rows: u32) {
        self.flags.clear();
        self.flags.resize(rows as usize, false);
        self.count = 0;
        self.urgent.clear();
    }

    pub fn len(&self) -> u32 {
        self.flags.len() as u32
    }

    pub fn is_empty(&self) -> bool {
        self.flags.is_empty()
    }

    /// Rows waiting (not counting urgent ones).
    pub fn waiting(&self) -> u32 {
        self.count
    }

    pub fn any(&self) -> bool {
        self.count > 0 || !self.urgent.is_empty()
    }

    pub fn mark(&mut self, rows: Range<u32>) {
        for row in rows {
            if let Some(d) = self.flags.get_mut(row as usize) {
                if !*d {
                    *d = true;
                    self.count += 1;
                }
            }
        }
    }

    /// Rows no longer waiting (they are drawn anyway).
    pub fn clean(&mut self, rows: Range<u32>) {
        let end = rows.end.min(self.len());
        for row in rows.start.min(end)..end {
            let d = &mut self.flags[row as usize];
            if *d {
                *d = false;
                self.count -= 1;
            }
        }
    }

    pub fn urgent(&mut self, rows: Range<u32>) {
        let rows = rows.start.min(self.len())..rows.end.min(self.len());
        if !rows.is_empty() {
            self.urgent.push(rows);
        }
    }

    /// This frame's rows as ranges: the urgent ones, then waiting rows from where the last budgeted
    /// take stopped, at most `budget` of them (None: all, from the top).
    pub fn take(&mut self, budget: Option<u32>) -> Vec<Range<u32>> {
        let mut out = Vec::new();
        self.take_into(budget, &mut out);
        out
    }

    /// `take`, into `out` (cleared first).
    pub fn take_into(&mut self, budget: Option<u32>, out: &mut Vec<Range<u32>>) {
        out.clear();
        out.append(&mut self.urgent);
        let n = self.len();
        if self.count == 0 || n == 0 {
            return;
        }
        let mut left = budget.unwrap_or(u32::MAX).max(1);
        let start = if budget.is_some() { self.cursor % n } else { 0 };
        let mut i = start;
        loop {
            if self.flags[i as usize] {
                self.flags[i as usize] = false;
                self.count -= 1;
                match out.last_mut() {
                    Some(last) if last.end == i => last.end = i + 1,
                    _ => out.push(i..i + 1),
                }
                left -= 1;
                if left == 0 || self.count == 0 {
                    i = (i + 1) % n;
                    break;
                }
            }
            i = (i + 1) % n;
            if i == start {
                break;
            }
        }
        self.cursor = i;
    }
}

/// The parts of a `w` x `h` frame outside `rects` (x, y, w, h), as few rectangles: cells of the
/// grid of all rectangle edges, merged along rows and then down columns.
pub fn gaps(rects: &[[u32; 4]], w: u32, h: u32) -> Vec<[u32; 4]> {
    let rects: Vec<[u32; 4]> = rects.iter().filter_map(|r| clip(r, w, h)).collect();
    let mut xs = vec![0, w];
    let mut ys = vec![0, h];
    for r in &rects {
        xs.extend([r[0], r[0] + r[2]]);
        ys.extend([r[1], r[1] + r[3]]);
    }
    xs.sort_unstable();
    xs.dedup();
    ys.sort_unstable();
    ys.dedup();
    let covered = |x: u32, y: u32| {
        rects
            .iter()
            .any(|r| x >= r[0] && x < r[0] + r[2] && y >= r[1] && y < r[1] + r[3])
    };
    let mut out: Vec<[u32; 4]> = Vec::new();
    // Spans of the band above, to extend downwards when a band repeats them.
    let mut open: Vec<usize> = Vec::new();
    for band in ys.windows(2) {
        let (y0, y1) = (band[0], band[1]);
        let mut spans: Vec<(u32, u32)> = Vec::new();
        for cell in xs.windows(2) {
            if covered(cell[0], y0) {
                continue;
            }
            match spans.last_mut() {
                Some(last) if last.1 == cell[0] => last.1 = cell[1],
                _ => spans.push((cell[0], cell[1])),
            }
        }
        let mut next_open = Vec::new();
        for (x0, x1) in spans {
            let above = open
                .iter()
                .copied()
                .find(|&i| out[i][0] == x0 && out[i][2] == x1 - x0 && out[i][1] + out[i][3] == y0);
            match above {
                Some(i) => {
                    out[i][3] += y1 - y0;
                    next_open.push(i);
                }
                None => {
                    out.push([x0, y0, x1 - x0, y1 - y0]);
                    next_open.push(out.len() - 1);
                }
            }
        }
        open = next_open;
    }
    out
}

/// Copies rectangles (physical x, y, w, h) from `from` into `to` at the same place.
pub fn copy_rects(
    encoder: &mut wgpu::CommandEncoder,
    from: &wgpu::Texture,
    to: &wgpu::Texture,
    rects: &[[u32; 4]],
) {
    let (w, h) = (to.width().min(from.width()), to.height().min(from.height()));
    for [x, y, cw, ch] in rects.iter().filter_map(|r| clip(r, w, h)) {
        let origin = wgpu::Origin3d { x, y, z: 0 };
        encoder.copy_texture_to_texture(
            wgpu::TexelCopyTextureInfo {
                texture: from,
                mip_level: 0,
                origin,
                aspect: wgpu::TextureAspect::All,
            },
            wgpu::TexelCopyTextureInfo {
                texture: to,
                mip_level: 0,
                origin,
                aspect: wgpu::TextureAspect::All,
            },
            wgpu::Extent3d {
                width: cw,
                height: ch,
                depth_or_array_layers: 1,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::{gaps, DirtyRows};

    #[test]
    fn gaps_and_rects_tile_the_frame_exactly() {
        let rects = [
            [10, 10, 30, 20],
            [50, 0, 50, 40],
            [0, 60, 100, 40],
            [35, 20, 20, 10],
        ];
        let (w, h) = (100u32, 100u32);
        let g = gaps(&rects, w, h);
        let mut hits = vec![0u8; (w * h) as usize];
        for r in rects.iter().chain(&g) {
            for y in r[1]..r[1] + r[3] {
                for x in r[0]..r[0] + r[2] {
                    hits[(y * w + x) as usize] += 1;
                }
            }
        }
        // Every pixel covered once by a gap or a rectangle, except where the last rectangle overlaps
        // the first (x 35..40) and the second (x 50..55), both over y 20..30.
        let twice = hits.iter().filter(|&&c| c == 2).count();
        assert_eq!(twice, 2 * 5 * 10);
        assert!(hits.iter().all(|&c| c == 1 || c == 2));
        // Bands that repeat merge downwards: far fewer gaps than grid cells.
        assert!(g.len() <= 8, "{} gaps: {g:?}", g.len());
        assert_eq!(gaps(&[], 7, 5), vec![[0, 0, 7, 5]]);
        assert!(gaps(&[[0, 0, 9, 9]], 7, 5).is_empty());
    }

    #[test]
    fn budgeted_rows_take_turns_and_all_get_drawn() {
        let mut d = DirtyRows::default();
        d.reset(10);
        d.mark(0..10);
        d.urgent(3..4);
        assert_eq!(d.take(Some(4)), vec![3..4, 0..4]);
        assert_eq!(d.waiting(), 6);
        // Rows 0..4 change again: the cursor goes on from row 4 first.
        d.mark(0..4);
        assert_eq!(d.take(Some(4)), vec![4..8]);
        assert_eq!(d.take(Some(4)), vec![8..10, 0..2]);
        assert_eq!(d.take(Some(4)), vec![2..4]);
        assert!(!d.any());
        // No budget: everything, from the top.
        d.mark(7..9);
        d.mark(1..2);
        assert_eq!(d.take(None), vec![1..2, 7..9]);
        // Rows past the end are ignored.
        d.mark(9..20);
        d.urgent(12..15);
        assert_eq!(d.take(Some(1)), vec![9..10]);
    }
}
