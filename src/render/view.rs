//! Frame orchestration shared by the window and the headless renderer: from a `Scene` and a target
//! size to uploads, doing only the work whose inputs changed (layout, memory map, shapes, text).

use super::banks::{self, BankInstance};
use super::shapes::{self, ShapeState};
use super::{FrameValues, Renderer};
use crate::layout::memory::MemoryMap;
use crate::layout::panels::{self, PanelText};
use crate::layout::Layout;
use crate::sim::Scene;

/// The target's size in physical pixels and its scale factor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TargetSize {
    pub width: u32,
    pub height: u32,
    pub scale: f32,
}

/// What changed in the last `prepare`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrepareStats {
    pub layout_rebuilt: bool,
    pub map_rebuilt: bool,
    pub states_written: usize,
    pub shapes_rebuilt: bool,
    pub texts_reshaped: usize,
}

/// Long-lived per-target state: the last layout, memory map and texts.
pub struct View {
    pub layout: Option<Layout>,
    pub map: MemoryMap,
    pub texts: Vec<PanelText>,
    size: (u32, u32, u32),
    gpu_id: String,
    /// The scene inputs the map was built from.
    map_key: Option<MapKey>,
    shape_state: Option<ShapeState>,
    instances: Vec<BankInstance>,
    instance_banks: u32,
}

#[derive(Clone, Debug, PartialEq)]
struct MapKey {
    lengths: Vec<u64>,
    model: String,
    gpu: String,
    flags: (bool, bool, bool, bool),
    kv: crate::calc::Dtype,
    weights: crate::calc::WeightFormat,
    context: u64,
    util: u64,
    fresh: bool,
    capacity: u32,
}

impl Default for View {
    fn default() -> Self {
        View::new()
    }
}

impl View {
    pub fn new() -> View {
        View {
            layout: None,
            map: MemoryMap::default(),
            texts: Vec::new(),
            size: (0, 0, 0),
            gpu_id: String::new(),
            map_key: None,
            shape_state: None,
            instances: Vec::new(),
            instance_banks: u32::MAX,
        }
    }

    /// Updates everything a frame needs and uploads what changed. `width`/`height` in physical px.
    pub fn prepare(
        &mut self,
        r: &mut Renderer,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        scene: &Scene,
        target: TargetSize,
        time: f32,
    ) -> PrepareStats {
        let TargetSize {
            width,
            height,
            scale,
        } = target;
        let mut st = PrepareStats::default();
        let s = &scene.settings;
        let size = (width, height, scale.to_bits());
        if self.layout.is_none() || self.size != size || self.gpu_id != s.gpu.id {
            self.layout = Some(Layout::compute(width, height, scale, &s.gpu));
            self.size = size;
            self.gpu_id = s.gpu.id.clone();
            self.map_key = None;
            self.shape_state = None;
            st.layout_rebuilt = true;
        }
        let Some(layout) = self.layout.as_ref() else {
            return st;
        };
        let capacity = layout.bank_capacity();
        let key = MapKey {
            lengths: scene.lengths.clone(),
            model: s.model.id.clone(),
            gpu: s.gpu.id.clone(),
            flags: (s.cb, s.pa, s.fa, s.skip_weights),
            kv: s.kv(),
            weights: s.weights(),
            context: s.context,
            util: s.gpu_util.to_bits(),
            fresh: scene.progress < 1.0,
            capacity,
        };
        if self.map_key.as_ref() != Some(&key) {
            self.map.rebuild(scene, capacity);
            self.map_key = Some(key);
            st.map_rebuilt = true;
            self.texts = panels::texts(scene, &self.map, layout);
        }
        if st.layout_rebuilt || self.instance_banks != self.map.banks {
            banks::instances(layout, self.map.banks, &mut self.instances);
            r.banks.set_instances(device, &self.instances);
            self.instance_banks = self.map.banks;
        }
        if st.map_rebuilt || st.layout_rebuilt {
            st.states_written = r.banks.update_states(queue, &self.map.states);
        }
        let ss = ShapeState {
            overflow: self.map.overflow_bytes > 0,
            over_budget: scene.report.gpus_needed > 1,
            gpus_needed: scene.report.gpus_needed,
            flash: s.fa,
        };
        if self.shape_state != Some(ss) {
            r.shapes.upload(device, &shapes::build(layout, &ss));
            self.shape_state = Some(ss);
            st.shapes_rebuilt = true;
        }
        if st.map_rebuilt || st.layout_rebuilt {
            r.text
                .prepare(device, queue, width, height, layout, &self.texts);
            st.texts_reshaped = r.text.reshaped;
        }
        let used = scene.report.total_bytes as f64 / s.gpu.memory_bytes.max(1) as f64;
        r.write_globals(
            queue,
            layout,
            &FrameValues {
                time,
                progress: scene.progress as f32,
                pressure: used.clamp(0.0, 1.0) as f32,
                flash: s.fa,
            },
        );
        st
    }
}
