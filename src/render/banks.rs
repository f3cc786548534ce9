//! Memory banks as instanced quads: one instance per package's bank grid (position, first bank,
//! bank count, columns, rows), cut into banks by the fragment shader. A software adapter pays most
//! per primitive and per partly covered block of pixels, so a grid is one large quad rather than a
//! quad per bank or per row: its inside is shaded in whole tiles. Instances are written when the
//! layout changes; bank states (one u32 each) when memory changes, and then only the banks that
//! changed. Redrawing only some rows of banks (the static layer) draws their grid's quad through a
//! scissor rectangle around those rows. Colours and animation come from the globals: a frame where
//! nothing changed uploads nothing here.

use crate::layout::Layout;
use bytemuck::{Pod, Zeroable};
use std::ops::Range;

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

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, PartialEq)]
pub struct BankInstance {
    /// Top-left of the grid's first bank, logical px.
    pub pos: [f32; 2],
    /// Index of the grid's first bank in the memory map.
    pub first: u32,
    /// Banks in the grid (row-major; the last row may be partly filled).
    pub count: u32,
    /// Banks per row.
    pub cols: u32,
    /// Rows (`count` divided by `cols`, rounded up).
    pub rows: u32,
    pub _pad: [u32; 2],
}
const _: () = assert!(std::mem::size_of::<BankInstance>() == 32);

impl BankInstance {
    /// A grid of `count` banks, `cols` per row, from `pos`.
    pub fn grid(pos: [f32; 2], first: u32, count: u32, cols: u32) -> BankInstance {
        let cols = cols.max(1);
        BankInstance {
            pos,
            first,
            count,
            cols,
            rows: count.div_ceil(cols),
            _pad: [0; 2],
        }
    }
}

/// Top-left corners of `banks` banks spread evenly over the active packages, row-major in each:
/// bank `i` of the memory map is at `positions[i]`.
pub fn positions(l: &Layout, banks: u32) -> Vec<[f32; 2]> {
    let mut grids = Vec::new();
    instances(l, banks, &mut grids);
    let mut out = Vec::with_capacity(banks as usize);
    for g in &grids {
        for k in 0..g.count {
            out.push([
                g.pos[0] + (k % g.cols) as f32 * l.bank_pitch,
                g.pos[1] + (k / g.cols) as f32 * l.bank_pitch,
            ]);
        }
    }
    out
}

/// Grid instances for `banks` banks spread evenly over the active packages, row-major in each.
pub fn instances(l: &Layout, banks: u32, out: &mut Vec<BankInstance>) {
    out.clear();
    let active: Vec<_> = l
        .modules
        .iter()
        .filter(|m| m.active && m.capacity() > 0)
        .collect();
    if active.is_empty() {
        return;
    }
    let cap: u32 = active.iter().map(|m| m.capacity()).sum();
    let banks = banks.min(cap);
    let n = active.len() as u32;
    // Even shares, capped by each grid; what a small grid cannot hold goes to the next ones.
    let mut shares: Vec<u32> = active
        .iter()
        .enumerate()
        .map(|(i, m)| (banks / n + u32::from((i as u32) < banks % n)).min(m.capacity()))
        .collect();
    let mut left = banks - shares.iter().sum::<u32>();
    for (i, m) in active.iter().enumerate() {
        let room = m.capacity() - shares[i];
        let take = room.min(left);
        shares[i] += take;
        left -= take;
    }
    let mut index = 0u32;
    for (m, &share) in active.iter().zip(&shares) {
        if share == 0 {
            continue;
        }
        let (x, y) = l.bank_origin(m, 0);
        out.push(BankInstance::grid([x, y], index, share, m.cols));
        index += share;
    }
}

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
    instances: Option<wgpu::Buffer>,
    states: Option<wgpu::Buffer>,
    bind: Option<wgpu::BindGroup>,
    /// Grid instances.
    count: u32,
    /// The grids, in instance order (first bank, columns) and where their rows are.
    grids: Vec<BankInstance>,
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
        let shader = super::shader_module(device, "banks");
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
        let attrs = wgpu::vertex_attr_array![
            0 => Float32x2, 1 => Uint32, 2 => Uint32, 3 => Uint32, 4 => Uint32
        ];
        let pipeline = super::render_pipeline(
            device,
            format,
            super::PipelineSpec {
                label: "banks",
                shader: &shader,
                groups: &[Some(globals), Some(&states_layout)],
                buffers: &[Some(wgpu::VertexBufferLayout {
                    array_stride: std::mem::size_of::<BankInstance>() as u64,
                    step_mode: wgpu::VertexStepMode::Instance,
                    attributes: &attrs,
                })],
                topology: wgpu::PrimitiveTopology::TriangleStrip,
                blend: None,
            },
        );
        BanksPipeline {
            pipeline,
            states_layout,
            instances: None,
            states: None,
            bind: None,
            count: 0,
            grids: Vec::new(),
            geoms: Vec::new(),
            rows: 0,
            banks: 0,
            shadow: Vec::new(),
        }
    }

    /// New geometry: recreate the instance and state buffers. `pitch` and `size` are the banks'
    /// (logical px) and `scale` the target's physical px per logical px, to place row redraws.
    pub fn set_instances(
        &mut self,
        device: &wgpu::Device,
        inst: &[BankInstance],
        pitch: f32,
        size: f32,
        scale: f32,
    ) {
        use wgpu::util::DeviceExt;
        self.count = inst.len() as u32;
        self.grids = inst.to_vec();
        self.geoms.clear();
        let mut first_row = 0;
        for g in inst {
            let x0 = (g.pos[0] * scale).floor().max(0.0) as u32;
            let x1 = ((g.pos[0] + g.cols as f32 * pitch) * scale).ceil().max(0.0) as u32;
            self.geoms.push(GridGeom {
                first_row,
                rows: g.rows,
                x0,
                x1,
                y0: g.pos[1] * scale,
                pitch: pitch * scale,
                size: size * scale,
            });
            first_row += g.rows;
        }
        self.rows = first_row;
        self.banks = inst.iter().map(|r| r.first + r.count).max().unwrap_or(0);
        let n = (self.banks as usize).max(1);
        self.instances = Some(
            device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("bank instances"),
                contents: if inst.is_empty() {
                    &[0u8; 32]
                } else {
                    bytemuck::cast_slice(inst)
                },
                usage: wgpu::BufferUsages::VERTEX,
            }),
        );
        let states = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("bank states"),
            size: (n * 4) as u64,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.bind = Some(device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("bank states"),
            layout: &self.states_layout,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: states.as_entire_binding(),
            }],
        }));
        self.states = Some(states);
        // Force a full upload next time.
        self.shadow.clear();
        self.shadow.resize(n, u32::MAX);
    }

    /// Uploads the states that differ from what the GPU has, as runs of changed banks (runs closer
    /// than 64 banks merge). Returns the runs, to redraw just those banks.
    /// Each run is one draw call, and draw calls cost on a software adapter: callers merge them
    /// with `coalesce`.
    pub fn update_states(&mut self, queue: &wgpu::Queue, states: &[u32]) -> Vec<Range<u32>> {
        let mut runs: Vec<Range<u32>> = Vec::new();
        let Some(buf) = &self.states else {
            return runs;
        };
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
        for r in &runs {
            let (a, b) = (r.start as usize, r.end as usize);
            queue.write_buffer(buf, (a * 4) as u64, bytemuck::cast_slice(&states[a..b]));
            self.shadow[a..b].copy_from_slice(&states[a..b]);
        }
        runs
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
        let (Some(inst), Some(bind)) = (&self.instances, &self.bind) else {
            return;
        };
        if self.count == 0 {
            return;
        }
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, globals, &[]);
        pass.set_bind_group(1, bind, &[]);
        pass.set_vertex_buffer(0, inst.slice(..));
        let Some((ranges, w, h)) = rows else {
            pass.draw(0..4, 0..self.count);
            return;
        };
        for r in ranges {
            for (i, g) in self.geoms.iter().enumerate() {
                // The part of this range in grid i.
                let a = r.start.max(g.first_row);
                let b = r.end.min(g.first_row + g.rows);
                if a >= b {
                    continue;
                }
                let top = (g.y0 + (a - g.first_row) as f32 * g.pitch).floor().max(0.0) as u32;
                let bottom = (g.y0 + (b - 1 - g.first_row) as f32 * g.pitch + g.size)
                    .ceil()
                    .max(0.0) as u32;
                let (x0, y0) = (g.x0.min(w), top.min(h));
                let (x1, y1) = (g.x1.min(w), bottom.min(h));
                if x1 > x0 && y1 > y0 {
                    pass.set_scissor_rect(x0, y0, x1 - x0, y1 - y0);
                    pass.draw(0..4, i as u32..i as u32 + 1);
                }
            }
        }
        pass.set_scissor_rect(0, 0, w, h);
    }

    /// Grid instances.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Banks.
    pub fn banks(&self) -> u32 {
        self.banks
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
