//! Memory banks as instanced quads: one instance per row of a package's bank grid (position, first
//! bank, bank count), cut into banks by the fragment shader. Per-primitive cost is what a software
//! adapter pays most for, so a row is one quad rather than a quad per bank. Instances are written
//! when the layout changes; bank states (one u32 each) when memory changes, and then only the banks
//! that changed. Colours and animation come from the globals: a frame where nothing changed uploads
//! nothing here.

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
    /// Top-left of the row's first bank, logical px.
    pub pos: [f32; 2],
    /// Index of the row's first bank in the memory map.
    pub first: u32,
    /// Banks in the row.
    pub count: u32,
}
const _: () = assert!(std::mem::size_of::<BankInstance>() == 16);

/// Top-left corners of `banks` banks spread evenly over the active packages, row-major in each:
/// bank `i` of the memory map is at `positions[i]`.
pub fn positions(l: &Layout, banks: u32) -> Vec<[f32; 2]> {
    let mut rows = Vec::new();
    instances(l, banks, &mut rows);
    let mut out = Vec::with_capacity(banks as usize);
    for r in &rows {
        for k in 0..r.count {
            out.push([r.pos[0] + k as f32 * l.bank_pitch, r.pos[1]]);
        }
    }
    out
}

/// Row instances for `banks` banks spread evenly over the active packages, row-major in each.
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
        let cols = m.cols.max(1);
        let mut k = 0;
        while k < share {
            let count = cols.min(share - k);
            let (x, y) = l.bank_origin(m, k);
            out.push(BankInstance {
                pos: [x, y],
                first: index,
                count,
            });
            index += count;
            k += count;
        }
    }
}

pub struct BanksPipeline {
    pipeline: wgpu::RenderPipeline,
    states_layout: wgpu::BindGroupLayout,
    instances: Option<wgpu::Buffer>,
    states: Option<wgpu::Buffer>,
    bind: Option<wgpu::BindGroup>,
    /// Row instances.
    count: u32,
    /// First bank of each row, to find the rows of a run of banks.
    firsts: Vec<u32>,
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
        let attrs = wgpu::vertex_attr_array![0 => Float32x2, 1 => Uint32, 2 => Uint32];
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
            firsts: Vec::new(),
            banks: 0,
            shadow: Vec::new(),
        }
    }

    /// New geometry: recreate the instance and state buffers.
    pub fn set_instances(&mut self, device: &wgpu::Device, inst: &[BankInstance]) {
        use wgpu::util::DeviceExt;
        self.count = inst.len() as u32;
        self.firsts = inst.iter().map(|r| r.first).collect();
        self.banks = inst.last().map(|r| r.first + r.count).unwrap_or(0);
        let n = (self.banks as usize).max(1);
        self.instances = Some(
            device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("bank instances"),
                contents: if inst.is_empty() {
                    &[0u8; 16]
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

    /// Draws banks `runs` (instance ranges); all of them when `runs` is None.
    /// Redrawing an unchanged bank is harmless, so runs may be wider than the change.
    pub fn draw_runs(
        &self,
        pass: &mut wgpu::RenderPass<'_>,
        globals: &wgpu::BindGroup,
        runs: Option<&[Range<u32>]>,
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
        match runs {
            None => pass.draw(0..4, 0..self.count),
            Some(rs) => {
                for r in rs {
                    // rows holding banks r.start..r.end
                    let a = self
                        .firsts
                        .partition_point(|&f| f <= r.start)
                        .saturating_sub(1);
                    let b = self.firsts.partition_point(|&f| f < r.end);
                    let rows = (a as u32).min(self.count)..(b as u32).min(self.count);
                    if !rows.is_empty() {
                        pass.draw(0..4, rows);
                    }
                }
            }
        }
    }

    /// Row instances.
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
