//! Memory banks as instanced quads: one instance per grid of banks (`frame::BankGrid`), cut into
//! banks by the fragment shader. A software adapter pays most per primitive and per partly covered
//! block of pixels, so a grid is one large quad rather than a quad per bank or per row: its inside
//! is shaded in whole tiles. Instances are written when the grids change; bank states (one u32
//! each) when memory changes, and then only the banks that changed. Redrawing only some rows of
//! banks (the static layer) draws their grid's quad through a scissor rectangle around those rows.
//! Colours and animation come from the globals: a frame where nothing changed uploads nothing here.

use super::buffer::GpuBuffer;
use super::gpu::BANK_GRID_ATTRIBUTES;
use crate::frame::{BankGrid, PxRect};
use std::ops::Range;

/// Where a grid's rows are on the target: for redrawing some rows through a scissor.
#[derive(Clone, Copy, Debug)]
struct GridGeom {
    first_row: u32,
    rows: u32,
    /// Physical px: left, right, top of row 0, and the distance between rows.
    x0: u32,
    x1: u32,
    y0: f32,
    pitch: f32,
    size: f32,
}

pub struct BanksPipeline {
    pipeline: wgpu::RenderPipeline,
    states_layout: wgpu::BindGroupLayout,
    instances: GpuBuffer<BankGrid>,
    states: GpuBuffer<u32>,
    bind: wgpu::BindGroup,
    /// The grids, in instance order (first bank, columns) and where their rows are.
    grids: Vec<BankGrid>,
    geoms: Vec<GridGeom>,
    /// Rows of all grids.
    rows: u32,
    /// Banks.
    banks: u32,
    /// What the GPU holds, to upload only differences.
    shadow: Vec<u32>,
}

impl BanksPipeline {
    pub fn new(
        device: &wgpu::Device,
        format: wgpu::TextureFormat,
        globals: &wgpu::BindGroupLayout,
    ) -> Self {
        let shader = super::shaders::shader_module(device, "banks");
        let states_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("bank states"),
            entries: &[wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: wgpu::ShaderStages::FRAGMENT,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Storage { read_only: true },
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            }],
        });
        let pipeline = super::shaders::render_pipeline(
            device,
            format,
            super::shaders::PipelineSpec {
                label: "banks",
                shader: &shader,
                groups: &[Some(globals), Some(&states_layout)],
                buffers: &[Some(wgpu::VertexBufferLayout {
                    array_stride: std::mem::size_of::<BankGrid>() as u64,
                    step_mode: wgpu::VertexStepMode::Instance,
                    attributes: &BANK_GRID_ATTRIBUTES,
                })],
                topology: wgpu::PrimitiveTopology::TriangleStrip,
                blend: None,
            },
        );
        let instances = GpuBuffer::new(device, "bank grids", wgpu::BufferUsages::VERTEX, 1);
        let states = GpuBuffer::new(device, "bank states", wgpu::BufferUsages::STORAGE, 1);
        let bind = BanksPipeline::bind(device, &states_layout, &states);
        BanksPipeline {
            pipeline,
            states_layout,
            instances,
            states,
            bind,
            grids: Vec::new(),
            geoms: Vec::new(),
            rows: 0,
            banks: 0,
            shadow: Vec::new(),
        }
    }

    fn bind(
        device: &wgpu::Device,
        layout: &wgpu::BindGroupLayout,
        states: &GpuBuffer<u32>,
    ) -> wgpu::BindGroup {
        device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("bank states"),
            layout,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: states.raw().as_entire_binding(),
            }],
        })
    }

    /// New grids: `pitch` and `size` are the banks' (logical px) and `scale` the target's
    /// physical px per logical px, to place row redraws. Every state is uploaded again next time.
    pub fn set_grids(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        grids: &[BankGrid],
        pitch: f32,
        size: f32,
        scale: f32,
    ) {
        self.grids = grids.to_vec();
        self.geoms.clear();
        let mut first_row = 0;
        for g in grids {
            let x0 = (g.pos.x * scale).floor().max(0.0) as u32;
            let x1 = ((g.pos.x + g.cols as f32 * pitch) * scale).ceil().max(0.0) as u32;
            self.geoms.push(GridGeom {
                first_row,
                rows: g.rows,
                x0,
                x1,
                y0: g.pos.y * scale,
                pitch: pitch * scale,
                size: size * scale,
            });
            first_row += g.rows;
        }
        self.rows = first_row;
        self.banks = grids.iter().map(|r| r.first + r.count).max().unwrap_or(0);
        let n = (self.banks as usize).max(1);
        self.instances.write(device, queue, grids);
        if self.states.reserve(device, n) {
            self.bind = BanksPipeline::bind(device, &self.states_layout, &self.states);
        }
        // Force a full upload next time.
        self.shadow.clear();
        self.shadow.resize(n, u32::MAX);
    }

    /// Uploads the states that differ from what the GPU has, as runs of changed banks (runs closer
    /// than 64 banks merge). Returns the runs, to redraw just those banks.
    /// Each run is one draw call, and draw calls cost on a software adapter: callers merge them
    /// with `coalesce`.
    /// The runs go into `runs` (cleared first; kept by the caller, so nothing allocates per frame).
    pub fn update_states(
        &mut self,
        queue: &wgpu::Queue,
        states: &[u32],
        runs: &mut Vec<Range<u32>>,
    ) {
        runs.clear();
        let n = states.len().min(self.banks as usize);
        let mut i = 0;
        while i < n {
            if self.shadow[i] == states[i] {
                i += 1;
                continue;
            }
            let start = i;
            let mut end = i + 1;
            let mut j = end;
            // Extend while changes keep coming within the merge distance.
            while j < n && j < end + 64 {
                if self.shadow[j] != states[j] {
                    end = j + 1;
                }
                j += 1;
            }
            runs.push(start as u32..end as u32);
            i = end;
        }
        for r in runs.iter() {
            let (a, b) = (r.start as usize, r.end as usize);
            self.states.write_at(queue, a, &states[a..b]);
            self.shadow[a..b].copy_from_slice(&states[a..b]);
        }
    }

    /// The row (numbered across all grids) of bank `b`.
    fn row_of(&self, b: u32) -> Option<u32> {
        let i = self
            .grids
            .partition_point(|g| g.first <= b)
            .checked_sub(1)?;
        let g = &self.grids[i];
        (b < g.first + g.count).then(|| self.geoms[i].first_row + (b - g.first) / g.cols)
    }

    /// The rows holding banks `banks` (rows are numbered grid after grid, top to bottom).
    pub fn rows_of(&self, banks: &Range<u32>) -> Range<u32> {
        if banks.is_empty() {
            return 0..0;
        }
        let last = banks.end.min(self.banks).saturating_sub(1);
        match (self.row_of(banks.start.min(last)), self.row_of(last)) {
            (Some(a), Some(b)) => a..b + 1,
            _ => 0..0,
        }
    }

    /// Rows of banks, over all grids.
    pub fn rows(&self) -> u32 {
        self.rows
    }

    /// Physical pixels the widest row of banks covers (to budget redraws).
    pub fn row_px(&self) -> u64 {
        self.geoms
            .iter()
            .map(|g| (g.x1 - g.x0.min(g.x1)) as u64 * g.pitch.ceil() as u64)
            .max()
            .unwrap_or(1)
            .max(1)
    }

    /// Draws rows `rows` (ranges of row numbers) through scissor rectangles on a `w` x `h`
    /// target; every bank when `rows` is None. Redrawing an unchanged bank is harmless, so ranges
    /// may be wider than the change.
    pub fn draw_rows(
        &self,
        pass: &mut wgpu::RenderPass<'_>,
        globals: &wgpu::BindGroup,
        rows: Option<(&[Range<u32>], u32, u32)>,
    ) {
        let count = self.grids.len() as u32;
        if count == 0 {
            return;
        }
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, globals, &[]);
        pass.set_bind_group(1, &self.bind, &[]);
        pass.set_vertex_buffer(0, self.instances.slice());
        let Some((ranges, w, h)) = rows else {
            pass.draw(0..4, 0..count);
            return;
        };
        for (i, [x, y, cw, ch]) in self.row_rects(ranges, w, h) {
            pass.set_scissor_rect(x, y, cw, ch);
            pass.draw(0..4, i as u32..i as u32 + 1);
        }
        pass.set_scissor_rect(0, 0, w, h);
    }

    /// The physical rectangles (x, y, w, h) rows `ranges` cover on a `w` x `h` target, with the
    /// grid each is in.
    pub fn row_rects<'a>(
        &'a self,
        ranges: &'a [Range<u32>],
        w: u32,
        h: u32,
    ) -> impl Iterator<Item = (usize, PxRect)> + 'a {
        ranges.iter().flat_map(move |r| {
            self.geoms.iter().enumerate().filter_map(move |(i, g)| {
                // The part of this range in grid i.
                let a = r.start.max(g.first_row);
                let b = r.end.min(g.first_row + g.rows);
                if a >= b {
                    return None;
                }
                let top = (g.y0 + (a - g.first_row) as f32 * g.pitch).floor().max(0.0) as u32;
                let bottom = (g.y0 + (b - 1 - g.first_row) as f32 * g.pitch + g.size)
                    .ceil()
                    .max(0.0) as u32;
                let (x0, y0) = (g.x0.min(w), top.min(h));
                let (x1, y1) = (g.x1.min(w), bottom.min(h));
                (x1 > x0 && y1 > y0).then_some((i, [x0, y0, x1 - x0, y1 - y0]))
            })
        })
    }
}

/// Merges runs into at most `max` ranges, joining the closest gaps first (sorted input or not).
pub fn coalesce(runs: &mut Vec<Range<u32>>, max: usize) {
    if runs.len() <= 1 {
        return;
    }
    runs.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<u32>> = Vec::with_capacity(runs.len());
    for r in runs.drain(..) {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    while merged.len() > max.max(1) {
        // join the pair with the smallest gap
        let i = (0..merged.len() - 1)
            .min_by_key(|&i| merged[i + 1].start - merged[i].end)
            .unwrap_or(0);
        let next = merged.remove(i + 1);
        merged[i].end = next.end;
    }
    *runs = merged;
}

#[cfg(test)]
mod tests {
    use super::coalesce;

    #[test]
    fn runs_merge_closest_first() {
        let mut r = vec![50..60, 0..10, 12..20, 100..110, 55..70];
        coalesce(&mut r, 3);
        assert_eq!(r, vec![0..20, 50..70, 100..110]);
        coalesce(&mut r, 1);
        assert_eq!(r, vec![0..110]);
    }
}
