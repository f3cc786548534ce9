//! 2-D geometry in logical pixels, shared by every scene: rectangles, and their way to physical
//! pixels. Points and sizes are glam's `Vec2`.

use crate::frame::PxRect;
use glam::Vec2;

/// An axis-aligned rectangle in logical pixels.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rect {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

impl Rect {
    /// A rectangle; a negative width or height becomes 0.
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
    /// Top-left corner.
    pub fn min(&self) -> Vec2 {
        Vec2::new(self.x, self.y)
    }
    /// Bottom-right corner.
    pub fn max(&self) -> Vec2 {
        Vec2::new(self.right(), self.bottom())
    }
    pub fn center(&self) -> Vec2 {
        Vec2::new(self.x + self.w / 2.0, self.y + self.h / 2.0)
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
    /// (x, y, w, h) as an array, for GPU uniforms.
    pub fn to_array(&self) -> [f32; 4] {
        [self.x, self.y, self.w, self.h]
    }
    /// The physical pixels this rectangle touches at `scale` physical px per logical px.
    pub fn to_px(&self, scale: f32) -> PxRect {
        let x0 = (self.x * scale).floor().max(0.0) as u32;
        let y0 = (self.y * scale).floor().max(0.0) as u32;
        let x1 = (self.right() * scale).ceil().max(0.0) as u32;
        let y1 = (self.bottom() * scale).ceil().max(0.0) as u32;
        [x0, y0, x1.saturating_sub(x0), y1.saturating_sub(y0)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn physical_rects_cover_every_touched_pixel() {
        // 10.2..20.6 at scale 2 is 20.4..41.2: pixels 20 to 41, 22 of them.
        let r = Rect::new(10.2, 3.0, 10.4, 1.0);
        assert_eq!(r.to_px(2.0), [20, 6, 22, 2]);
        // Off the top-left edge: clipped at 0.
        assert_eq!(Rect::new(-5.0, -1.0, 10.0, 2.0).to_px(1.0), [0, 0, 5, 1]);
        assert_eq!(Rect::new(1.0, 1.0, -3.0, 2.0).w, 0.0);
        assert_eq!(r.center(), Vec2::new(15.4, 3.5));
    }
}
