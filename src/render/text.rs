//! The text layer: glyphon with DejaVu Sans embedded in the binary (every machine renders the same
//! glyphs). One font system, glyph cache and pipeline cache (`TextShared`) serve every text layer
//! of a renderer; each layer keeps its own atlas and one cached buffer per text block, reshaped only
//! when the block changes.

use crate::frame::{PxRect, TextBlock};
use glyphon::{
    fontdb, Attrs, Buffer, Cache, Color, Family, FontSystem, Metrics, Resolution, Shaping,
    SwashCache, TextArea, TextAtlas, TextBounds, TextRenderer, Viewport, Weight, Wrap,
};
use std::collections::BTreeMap;

/// What every text layer of a renderer shares: fonts, rasterized glyphs, glyphon's pipelines.
pub struct TextShared {
    font_system: FontSystem,
    swash: SwashCache,
    cache: Cache,
}

impl TextShared {
    pub fn new(device: &wgpu::Device) -> TextShared {
        let mut db = fontdb::Database::new();
        db.load_font_data(dejavu::sans::regular().to_vec());
        db.load_font_data(dejavu::sans::bold().to_vec());
        db.set_sans_serif_family("DejaVu Sans");
        TextShared {
            font_system: FontSystem::new_with_locale_and_db("en-US".into(), db),
            swash: SwashCache::new(),
            cache: Cache::new(device),
        }
    }
}

struct Slot {
    key: u64,
    buffer: Buffer,
    block: TextBlock,
    /// Its laid-out lines: a hash of each line's glyphs, and the line's top and height (px from
    /// the block's origin), to find the lines a change touched.
    lines: Vec<(u64, f32, f32)>,
}

/// The laid-out lines of `buffer` (see `Slot::lines`), into `out`.
fn lines_of(buffer: &Buffer, out: &mut Vec<(u64, f32, f32)>) {
    use std::hash::{Hash, Hasher};
    out.clear();
    for run in buffer.layout_runs() {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for g in run.glyphs {
            (
                g.glyph_id,
                g.x.to_bits(),
                g.w.to_bits(),
                g.font_size.to_bits(),
            )
                .hash(&mut h);
            g.color_opt.map(|c| c.0).hash(&mut h);
        }
        out.push((h.finish(), run.line_top, run.line_height));
    }
}

/// Where a block's text changed: the lines that differ between `old` and `new` (the block's
/// width, physical px, clipped to its `redraw` rectangle), one rectangle per run of them.
fn changed_lines(
    b: &TextBlock,
    old: &[(u64, f32, f32)],
    new: &[(u64, f32, f32)],
    out: &mut Vec<PxRect>,
) {
    let r = b.redraw;
    let (top, bottom) = (r[1] as f32, (r[1] + r[3]) as f32);
    let mut span: Option<(f32, f32)> = None;
    let flush = |span: &mut Option<(f32, f32)>, out: &mut Vec<PxRect>| {
        if let Some((y0, y1)) = span.take() {
            // A line's glyphs may reach a little past its box.
            let y0 = (y0 - 2.0).max(top).floor();
            let y1 = (y1 + 2.0).min(bottom).ceil();
            if y1 > y0 {
                out.push([r[0], y0 as u32, r[2], (y1 - y0) as u32]);
            }
        }
    };
    for i in 0..old.len().max(new.len()) {
        let (a, b_) = (old.get(i), new.get(i));
        let same = matches!((a, b_), (Some(x), Some(y)) if x == y);
        if same {
            flush(&mut span, out);
            continue;
        }
        for l in [a, b_].into_iter().flatten() {
            let (y0, y1) = (b.origin.y + l.1, b.origin.y + l.1 + l.2);
            span = Some(span.map_or((y0, y1), |(s0, s1)| (s0.min(y0), s1.max(y1))));
        }
    }
    flush(&mut span, out);
}

/// What shaping a block depends on.
fn key_of(b: &TextBlock) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for s in &b.spans {
        s.text.hash(&mut h);
        s.color.hash(&mut h);
        s.bold.hash(&mut h);
        s.size.to_bits().hash(&mut h);
    }
    b.centered.hash(&mut h);
    b.size.x.to_bits().hash(&mut h);
    b.size.y.to_bits().hash(&mut h);
    b.font_size.to_bits().hash(&mut h);
    b.line_height.to_bits().hash(&mut h);
    b.tab_width.hash(&mut h);
    h.finish()
}

/// Lays out a block's spans into its buffer.
fn shape(fs: &mut FontSystem, buffer: &mut Buffer, b: &TextBlock) {
    let (body, line) = (b.font_size, b.line_height);
    buffer.set_metrics(Metrics::new(body, line));
    buffer.set_wrap(Wrap::WordOrGlyph);
    buffer.set_tab_width(b.tab_width);
    buffer.set_size(Some(b.size.x), Some(b.size.y));
    let spans: Vec<(&str, Attrs)> = b
        .spans
        .iter()
        .map(|sp| {
            let [r, g, bl] = sp.color;
            let mut a = Attrs::new()
                .family(Family::SansSerif)
                .color(Color::rgb(r, g, bl));
            if sp.bold {
                a = a.weight(Weight::BOLD);
            }
            if sp.size != 1.0 {
                a = a.metrics(Metrics::new(body * sp.size, line * sp.size.max(1.0)));
            }
            (sp.text.as_str(), a)
        })
        .collect();
    let align = b.centered.then_some(glyphon::cosmic_text::Align::Center);
    buffer.set_rich_text(
        spans,
        &Attrs::new().family(Family::SansSerif),
        Shaping::Advanced,
        align,
    );
    buffer.shape_until_scroll(fs, false);
}

pub struct TextLayer {
    atlas: TextAtlas,
    viewport: Viewport,
    renderer: TextRenderer,
    slots: BTreeMap<u32, Slot>,
    /// Buffers shaped during the last prepare (0 when nothing changed).
    pub reshaped: usize,
    /// Where blocks were reshaped or dropped during the last prepare (their `redraw` rectangles).
    pub changed: Vec<PxRect>,
}

impl TextLayer {
    pub fn new(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        format: wgpu::TextureFormat,
        shared: &TextShared,
    ) -> Self {
        let viewport = Viewport::new(device, &shared.cache);
        let mut atlas = TextAtlas::new(device, queue, &shared.cache, format);
        let renderer =
            TextRenderer::new(&mut atlas, device, wgpu::MultisampleState::default(), None);
        TextLayer {
            atlas,
            viewport,
            renderer,
            slots: BTreeMap::new(),
            reshaped: 0,
            changed: Vec::new(),
        }
    }

    /// Shapes the blocks that changed and uploads glyphs for a `width` x `height` target.
    pub fn prepare(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        shared: &mut TextShared,
        width: u32,
        height: u32,
        blocks: &[TextBlock],
    ) {
        self.update_slots(&mut shared.font_system, blocks);
        self.viewport.update(queue, Resolution { width, height });
        let areas: Vec<TextArea> = self
            .slots
            .values()
            .map(|slot| {
                let b = &slot.block;
                TextArea {
                    buffer: &slot.buffer,
                    left: b.origin.x,
                    top: b.origin.y,
                    scale: 1.0,
                    bounds: TextBounds {
                        left: b.bounds[0].floor() as i32,
                        top: b.bounds[1].floor() as i32,
                        right: b.bounds[2].ceil() as i32,
                        bottom: b.bounds[3].ceil() as i32,
                    },
                    default_color: Color::rgb(229, 233, 242),
                    custom_glyphs: &[],
                }
            })
            .collect();
        if let Err(e) = self.renderer.prepare(
            device,
            queue,
            &mut shared.font_system,
            &mut self.atlas,
            &self.viewport,
            areas,
            &mut shared.swash,
        ) {
            log::warn!("text prepare: {e}");
        }
    }

    /// Shapes the blocks whose text changed (noting where), keeps the others, drops those gone.
    fn update_slots(&mut self, fs: &mut glyphon::FontSystem, blocks: &[TextBlock]) {
        self.reshaped = 0;
        self.changed.clear();
        for b in blocks {
            let key = key_of(b);
            let slot = self.slots.entry(b.id).or_insert_with(|| Slot {
                key: 0,
                buffer: Buffer::new(fs, Metrics::new(b.font_size, b.line_height)),
                block: b.clone(),
                lines: Vec::new(),
            });
            if slot.key == key {
                // Same text: only where it goes may have moved.
                slot.block.origin = b.origin;
                slot.block.bounds = b.bounds;
                slot.block.redraw = b.redraw;
                continue;
            }
            slot.key = key;
            // Where the block sits or how it is laid out changed: all of it; else only the lines
            // whose glyphs changed.
            let moved = slot.lines.is_empty()
                || slot.block.origin != b.origin
                || slot.block.bounds != b.bounds
                || slot.block.redraw != b.redraw
                || slot.block.font_size != b.font_size;
            slot.block = b.clone();
            self.reshaped += 1;
            shape(fs, &mut slot.buffer, b);
            let old = std::mem::take(&mut slot.lines);
            lines_of(&slot.buffer, &mut slot.lines);
            if moved {
                self.changed.push(b.redraw);
            } else {
                changed_lines(b, &old, &slot.lines, &mut self.changed);
            }
        }
        // Drop blocks that are gone.
        let changed = &mut self.changed;
        self.slots.retain(|id, slot| {
            let keep = blocks.iter().any(|b| b.id == *id);
            if !keep {
                changed.push(slot.block.redraw);
            }
            keep
        });
    }

    pub fn render(&self, pass: &mut wgpu::RenderPass<'_>) {
        if let Err(e) = self.renderer.render(&self.atlas, &self.viewport, pass) {
            log::warn!("text render: {e}");
        }
    }

    /// Frees glyphs no longer used (once per frame, before preparing the next).
    pub fn trim(&mut self) {
        self.atlas.trim();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_lines_that_changed_are_redrawn() {
        let b = TextBlock {
            id: 1,
            origin: glam::Vec2::new(10.0, 100.0),
            bounds: [10.0, 100.0, 310.0, 400.0],
            size: glam::Vec2::new(300.0, 300.0),
            font_size: 13.0,
            line_height: 20.0,
            tab_width: 8,
            centered: false,
            spans: Vec::new(),
            redraw: [0, 90, 320, 320],
        };
        // Lines at 0, 20, 40, 60 px from the origin; the second and third change, a fifth appears.
        let old = [
            (1, 0.0, 20.0),
            (2, 20.0, 20.0),
            (3, 40.0, 20.0),
            (4, 60.0, 20.0),
        ];
        let new = [
            (1, 0.0, 20.0),
            (7, 20.0, 20.0),
            (8, 40.0, 20.0),
            (4, 60.0, 20.0),
            (9, 80.0, 20.0),
        ];
        let mut out = Vec::new();
        changed_lines(&b, &old, &new, &mut out);
        // Lines 2-3: y 120..160, and line 5: y 180..200, each grown by 2 px (inside the panel,
        // which ends at 410), across the panel's full width.
        assert_eq!(out, vec![[0, 118, 320, 44], [0, 178, 320, 24]]);
        out.clear();
        changed_lines(&b, &old, &old, &mut out);
        assert!(out.is_empty());
    }
}
