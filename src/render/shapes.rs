//! Shapes: die, packages, panels, wafer, the attention line and its dot, flash tiles and the
//! mini-GPUs of the overflow tray. Tessellated with lyon when the layout (or what the shapes show)
//! changes, never per frame; animated through the globals. Two layers: under and over the banks.

use crate::layout::palette::{self, rgba};
use crate::layout::{Layout, PanelKind, Rect};
use bytemuck::{Pod, Zeroable};
use lyon::math::{point, Box2D};
use lyon::path::builder::BorderRadii;
use lyon::path::Winding;
use lyon::tessellation::{
    BuffersBuilder, FillOptions, FillTessellator, FillVertex, StrokeOptions, StrokeTessellator,
    StrokeVertex, VertexBuffers,
};

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, PartialEq)]
pub struct ShapeVertex {
    pub pos: [f32; 2],
    pub color: [f32; 4],
    pub anim: u32,
    pub phase: f32,
}
const _: () = assert!(std::mem::size_of::<ShapeVertex>() == 32);

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

#[derive(Default)]
pub struct ShapeMesh {
    pub vertices: Vec<ShapeVertex>,
    pub indices: Vec<u32>,
    /// Index range drawn under the banks, then over them.
    pub under: std::ops::Range<u32>,
    pub over: std::ops::Range<u32>,
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

struct Tess {
    buf: VertexBuffers<ShapeVertex, u32>,
    fill: FillTessellator,
    stroke: StrokeTessellator,
}

impl Tess {
    fn rounded(&mut self, r: Rect, radius: f32, color: [f32; 4]) {
        let path = rounded_path(r, radius);
        let _ = self.fill.tessellate_path(
            &path,
            &FillOptions::tolerance(0.2),
            &mut BuffersBuilder::new(&mut self.buf, |v: FillVertex| ShapeVertex {
                pos: v.position().to_array(),
                color,
                anim: 0,
                phase: 0.0,
            }),
        );
    }

    fn rounded_outline(&mut self, r: Rect, radius: f32, width: f32, color: [f32; 4]) {
        let path = rounded_path(r, radius);
        let _ = self.stroke.tessellate_path(
            &path,
            &StrokeOptions::tolerance(0.2).with_line_width(width),
            &mut BuffersBuilder::new(&mut self.buf, |v: StrokeVertex| ShapeVertex {
                pos: v.position().to_array(),
                color,
                anim: 0,
                phase: 0.0,
            }),
        );
    }

    fn panel(&mut self, r: Rect, ui: f32, fill: [f32; 4], border: [f32; 4]) {
        self.rounded(r, 8.0 * ui, fill);
        self.rounded_outline(r.inset(0.5), 8.0 * ui, (1.2 * ui).max(1.0), border);
    }

    fn line(&mut self, a: (f32, f32), b: (f32, f32), width: f32, color: [f32; 4]) {
        let mut p = lyon::path::Path::builder();
        p.begin(point(a.0, a.1));
        p.line_to(point(b.0, b.1));
        p.end(false);
        let path = p.build();
        let _ = self.stroke.tessellate_path(
            &path,
            &StrokeOptions::tolerance(0.2)
                .with_line_width(width)
                .with_line_cap(lyon::tessellation::LineCap::Round),
            &mut BuffersBuilder::new(&mut self.buf, |v: StrokeVertex| ShapeVertex {
                pos: v.position().to_array(),
                color,
                anim: 0,
                phase: 0.0,
            }),
        );
    }

    fn circle(&mut self, c: (f32, f32), r: f32, color: [f32; 4], anim: u32) {
        let _ = self.fill.tessellate_circle(
            point(c.0, c.1),
            r,
            &FillOptions::tolerance(0.1),
            &mut BuffersBuilder::new(&mut self.buf, |v: FillVertex| ShapeVertex {
                pos: v.position().to_array(),
                color,
                anim,
                phase: 0.0,
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
            self.buf.vertices.push(ShapeVertex {
                pos: [x, y],
                color,
                anim,
                phase,
            });
        }
        self.buf
            .indices
            .extend_from_slice(&[base, base + 1, base + 2, base, base + 2, base + 3]);
    }
}

/// The diagonal attention line's ends inside the die: bottom-left to top-right.
pub fn diagonal(die: &Rect) -> ((f32, f32), (f32, f32)) {
    let i = die.w * 0.12;
    ((die.x + i, die.bottom() - i), (die.right() - i, die.y + i))
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
pub fn build(l: &Layout, s: &ShapeState) -> ShapeMesh {
    let mut t = Tess {
        buf: VertexBuffers::new(),
        fill: FillTessellator::new(),
        stroke: StrokeTessellator::new(),
    };
    let ui = l.ui;
    // --- under the banks ---
    if l.wafer {
        let (cx, cy) = l.board.center();
        let r = (l.board.w.powi(2) + l.board.h.powi(2)).sqrt() / 2.0;
        let r = r.min(l.board.w.max(l.board.h) * 0.56);
        t.circle((cx, cy), r, rgba([0x16, 0x1c, 0x30], 0.9), 0);
    }
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
        t.panel(p.rect, ui, fill, border);
    }
    for m in &l.modules {
        let (fill, border) = if m.active && s.apocalypse {
            // The memory apocalypse: every package glows red.
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
            // Disabled site: crossed out.
            let c = rgba([0x33, 0x3a, 0x4d], 1.0);
            t.line(
                (m.rect.x, m.rect.y),
                (m.rect.right(), m.rect.bottom()),
                1.5 * ui,
                c,
            );
            t.line(
                (m.rect.right(), m.rect.y),
                (m.rect.x, m.rect.bottom()),
                1.5 * ui,
                c,
            );
        }
    }
    let d = l.die;
    t.rounded(d, 10.0 * ui, rgba(palette::DIE, 1.0));
    t.rounded_outline(
        d.inset(1.0),
        10.0 * ui,
        2.0 * ui,
        rgba(palette::DIE_BORDER, 1.0),
    );
    // Mini GPUs in the warning panel: how many GPUs this state needs.
    if let Some(p) = l.panel(PanelKind::Warning) {
        if s.gpus_needed > 1 {
            let n = s.gpus_needed.min(32) as usize;
            let size = ((p.rect.w - 24.0 * ui) / 16.0).min(crate::layout::LINE * ui);
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
    }
    let under_end = t.buf.indices.len() as u32;

    // --- over the banks: flash tiles, the attention line, its dot ---
    let ((x0, y0), (x1, y1)) = diagonal(&d);
    let (across, up, visits) = flash_grid(s.flash_tile);
    let (tw, th) = ((x1 - x0) / across as f32, (y0 - y1) / up as f32);
    let gap = 1.0f32.min(th / 4.0);
    // Flash tiles exist only while flash attention is on (the shapes are rebuilt when it toggles).
    for (i, &n) in visits.iter().enumerate().filter(|_| s.flash) {
        // query block i (left to right) visits key blocks 0..n (bottom to top): the causal triangle
        for j in 0..n {
            let r = Rect::new(
                x0 + i as f32 * tw + gap,
                y0 - (j + 1) as f32 * th + gap,
                tw - 2.0 * gap,
                th - 2.0 * gap,
            );
            t.quad(
                r,
                rgba(palette::FLASH, 0.9),
                1,
                (i as f32 + 0.5) / across as f32,
            );
        }
    }
    let line_color = if s.flash {
        rgba(palette::FLASH, 1.0)
    } else {
        rgba(palette::LINE, 1.0)
    };
    t.line((x0, y0), (x1, y1), 2.0 * ui, line_color);
    let dot_r = if s.flash { 5.0 * ui } else { 7.0 * ui };
    let dot_c = if s.flash {
        rgba([0xbe, 0xf2, 0x64], 1.0)
    } else {
        rgba(palette::GOLD, 1.0)
    };
    t.circle((0.0, 0.0), dot_r, dot_c, 2);
    let total = t.buf.indices.len() as u32;
    ShapeMesh {
        vertices: t.buf.vertices,
        indices: t.buf.indices,
        under: 0..under_end,
        over: under_end..total,
    }
}

/// Where the dot sits for a sweep fraction.
pub fn dot_position(l: &Layout, progress: f64) -> [f32; 2] {
    let ((x0, y0), (x1, y1)) = diagonal(&l.die);
    let p = progress.clamp(0.0, 1.0) as f32;
    [x0 + (x1 - x0) * p, y0 + (y1 - y0) * p]
}

pub struct ShapesPipeline {
    pipeline: wgpu::RenderPipeline,
    vbuf: Option<wgpu::Buffer>,
    ibuf: Option<wgpu::Buffer>,
    under: std::ops::Range<u32>,
    over: std::ops::Range<u32>,
}

impl ShapesPipeline {
    pub fn new(
        device: &wgpu::Device,
        format: wgpu::TextureFormat,
        globals: &wgpu::BindGroupLayout,
    ) -> Self {
        let shader = super::shader_module(device, "shapes");
        let attrs =
            wgpu::vertex_attr_array![0 => Float32x2, 1 => Float32x4, 2 => Uint32, 3 => Float32];
        let pipeline = super::render_pipeline(
            device,
            format,
            super::PipelineSpec {
                label: "shapes",
                shader: &shader,
                groups: &[Some(globals)],
                buffers: &[Some(wgpu::VertexBufferLayout {
                    array_stride: std::mem::size_of::<ShapeVertex>() as u64,
                    step_mode: wgpu::VertexStepMode::Vertex,
                    attributes: &attrs,
                })],
                topology: wgpu::PrimitiveTopology::TriangleList,
                blend: Some(wgpu::BlendState::ALPHA_BLENDING),
            },
        );
        ShapesPipeline {
            pipeline,
            vbuf: None,
            ibuf: None,
            under: 0..0,
            over: 0..0,
        }
    }

    pub fn upload(&mut self, device: &wgpu::Device, mesh: &ShapeMesh) {
        use wgpu::util::DeviceExt;
        if mesh.indices.is_empty() {
            self.vbuf = None;
            self.ibuf = None;
            return;
        }
        self.vbuf = Some(
            device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("shape vertices"),
                contents: bytemuck::cast_slice(&mesh.vertices),
                usage: wgpu::BufferUsages::VERTEX,
            }),
        );
        self.ibuf = Some(
            device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("shape indices"),
                contents: bytemuck::cast_slice(&mesh.indices),
                usage: wgpu::BufferUsages::INDEX,
            }),
        );
        self.under = mesh.under.clone();
        self.over = mesh.over.clone();
    }

    pub fn draw(&self, pass: &mut wgpu::RenderPass<'_>, globals: &wgpu::BindGroup, over: bool) {
        let (Some(v), Some(i)) = (&self.vbuf, &self.ibuf) else {
            return;
        };
        let range = if over {
            self.over.clone()
        } else {
            self.under.clone()
        };
        if range.is_empty() {
            return;
        }
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, globals, &[]);
        pass.set_vertex_buffer(0, v.slice(..));
        pass.set_index_buffer(i.slice(..), wgpu::IndexFormat::Uint32);
        pass.draw_indexed(range, 0, 0..1);
    }
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
