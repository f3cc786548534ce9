//! The text layer: glyphon with DejaVu Sans embedded in the binary (every machine renders the same
//! glyphs). One cached buffer per panel, reshaped only when its text, width or scale changes.

use crate::layout::panels::PanelText;
use crate::layout::{Layout, PanelKind};
use glyphon::{
    fontdb, Attrs, Buffer, Cache, Color, Family, FontSystem, Metrics, Resolution, Shaping,
    SwashCache, TextArea, TextAtlas, TextBounds, TextRenderer, Viewport, Weight, Wrap,
};
use std::collections::HashMap;

/// Body text size at ui = 1, logical px.
pub const BODY: f32 = 14.5;

struct Slot {
    key: u64,
    buffer: Buffer,
    rect: [f32; 4],
}

/// Panels whose text changes while tokens grow (drawn every frame); the rest go into the static
/// layer and are redrawn only when they change.
pub fn is_dynamic(kind: PanelKind) -> bool {
    matches!(
        kind,
        PanelKind::Info
            | PanelKind::Formula
            | PanelKind::Warning
            | PanelKind::Banner
            | PanelKind::Factoids
    )
}

pub struct TextLayer {
    font_system: FontSystem,
    swash: SwashCache,
    atlas: TextAtlas,
    viewport: Viewport,
    renderer: TextRenderer,
    slots: HashMap<PanelKind, Slot>,
    /// Buffers shaped during the last prepare (0 when nothing changed).
    pub reshaped: usize,
    /// Panels whose text was reshaped or dropped during the last prepare.
    pub changed: Vec<PanelKind>,
}

fn hash_of(t: &PanelText, w: f32, scale: f32, ui: f32) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for s in &t.spans {
        s.text.hash(&mut h);
        s.color.hash(&mut h);
        s.bold.hash(&mut h);
        s.size.to_bits().hash(&mut h);
    }
    t.centered.hash(&mut h);
    w.to_bits().hash(&mut h);
    scale.to_bits().hash(&mut h);
    ui.to_bits().hash(&mut h);
    h.finish()
}

impl TextLayer {
    pub fn new(device: &wgpu::Device, queue: &wgpu::Queue, format: wgpu::TextureFormat) -> Self {
        let mut db = fontdb::Database::new();
        db.load_font_data(dejavu::sans::regular().to_vec());
        db.load_font_data(dejavu::sans::bold().to_vec());
        db.set_sans_serif_family("DejaVu Sans");
        let font_system = FontSystem::new_with_locale_and_db("en-US".into(), db);
        let cache = Cache::new(device);
        let viewport = Viewport::new(device, &cache);
        let mut atlas = TextAtlas::new(device, queue, &cache, format);
        let renderer =
            TextRenderer::new(&mut atlas, device, wgpu::MultisampleState::default(), None);
        TextLayer {
            font_system,
            swash: SwashCache::new(),
            atlas,
            viewport,
            renderer,
            slots: HashMap::new(),
            reshaped: 0,
            changed: Vec::new(),
        }
    }

    /// Shapes what changed and uploads glyphs. Sizes in physical pixels.
    pub fn prepare(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        width: u32,
        height: u32,
        layout: &Layout,
        texts: &[PanelText],
    ) {
        self.reshaped = 0;
        self.changed.clear();
        let s = layout.scale;
        let ui = layout.ui;
        let pad = 12.0 * ui;
        for t in texts {
            let Some(panel) = layout.panel(t.kind) else {
                continue;
            };
            let r = panel.rect;
            let w = (r.w - 2.0 * pad).max(1.0) * s;
            let key = hash_of(t, w, s, ui);
            let line = crate::layout::LINE * ui * s;
            let body = BODY * ui * s;
            // The warning panel keeps its last two lines for the mini-GPU row.
            let bottom = if t.kind == PanelKind::Warning {
                r.bottom() - pad - 2.0 * crate::layout::LINE * ui
            } else {
                r.bottom() - pad * 0.5
            };
            let rect = [
                (r.x + pad) * s,
                (r.y + pad) * s,
                (r.right() - pad) * s,
                bottom * s,
            ];
            let fs = &mut self.font_system;
            let slot = self.slots.entry(t.kind).or_insert_with(|| Slot {
                key: 0,
                buffer: Buffer::new(fs, Metrics::new(body, line)),
                rect,
            });
            slot.rect = rect;
            if slot.key == key {
                continue;
            }
            slot.key = key;
            self.reshaped += 1;
            self.changed.push(t.kind);
            let b = &mut slot.buffer;
            b.set_metrics(Metrics::new(body, line));
            b.set_wrap(Wrap::WordOrGlyph);
            b.set_tab_width(if t.kind == PanelKind::Controls {
                11
            } else {
                18
            });
            b.set_size(Some(w), Some((r.h * s).max(1.0)));
            let spans: Vec<(&str, Attrs)> = t
                .spans
                .iter()
                .map(|sp| {
                    let mut a = Attrs::new().family(Family::SansSerif).color(Color::rgb(
                        sp.color[0],
                        sp.color[1],
                        sp.color[2],
                    ));
                    if sp.bold {
                        a = a.weight(Weight::BOLD);
                    }
                    if sp.size != 1.0 {
                        a = a.metrics(Metrics::new(body * sp.size, line * sp.size.max(1.0)));
                    }
                    (sp.text.as_str(), a)
                })
                .collect();
            let align = if t.centered {
                Some(glyphon::cosmic_text::Align::Center)
            } else {
                None
            };
            b.set_rich_text(
                spans,
                &Attrs::new().family(Family::SansSerif),
                Shaping::Advanced,
                align,
            );
            b.shape_until_scroll(fs, false);
        }
        // Drop panels that are gone.
        let changed = &mut self.changed;
        self.slots.retain(|k, _| {
            let keep = texts.iter().any(|t| t.kind == *k) && layout.panel(*k).is_some();
            if !keep {
                changed.push(*k);
            }
            keep
        });
        self.viewport.update(queue, Resolution { width, height });
        let areas: Vec<TextArea> = self
            .slots
            .values()
            .map(|slot| TextArea {
                buffer: &slot.buffer,
                left: slot.rect[0],
                top: slot.rect[1],
                scale: 1.0,
                bounds: TextBounds {
                    left: slot.rect[0].floor() as i32,
                    top: slot.rect[1].floor() as i32,
                    right: slot.rect[2].ceil() as i32,
                    bottom: slot.rect[3].ceil() as i32,
                },
                default_color: Color::rgb(229, 233, 242),
                custom_glyphs: &[],
            })
            .collect();
        if let Err(e) = self.renderer.prepare(
            device,
            queue,
            &mut self.font_system,
            &mut self.atlas,
            &self.viewport,
            areas,
            &mut self.swash,
        ) {
            log::warn!("text prepare: {e}");
        }
    }

    pub fn render(&self, pass: &mut wgpu::RenderPass<'_>) {
        if let Err(e) = self.renderer.render(&self.atlas, &self.viewport, pass) {
            log::warn!("text render: {e}");
        }
    }

    /// Frees glyphs no longer used (call once per frame after rendering).
    pub fn trim(&mut self) {
        self.atlas.trim();
    }
}
