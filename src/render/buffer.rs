//! Growable, labelled GPU buffers of one element type: every buffer the layers refill goes through
//! this one growth path (as iced_wgpu does). A buffer grows to the next power of two of elements
//! when what is written does not fit, and is reused otherwise.

use bytemuck::Pod;
use std::marker::PhantomData;

pub struct GpuBuffer<T: Pod> {
    raw: wgpu::Buffer,
    label: &'static str,
    usage: wgpu::BufferUsages,
    /// Elements the buffer holds room for.
    capacity: usize,
    /// Elements written.
    len: usize,
    _of: PhantomData<T>,
}

impl<T: Pod> GpuBuffer<T> {
    /// Room for `capacity` elements (at least one: a binding needs a buffer with bytes in it).
    pub fn new(
        device: &wgpu::Device,
        label: &'static str,
        usage: wgpu::BufferUsages,
        capacity: usize,
    ) -> GpuBuffer<T> {
        let usage = usage | wgpu::BufferUsages::COPY_DST;
        let capacity = capacity.max(1);
        GpuBuffer {
            raw: GpuBuffer::<T>::create(device, label, usage, capacity),
            label,
            usage,
            capacity,
            len: 0,
            _of: PhantomData,
        }
    }

    fn create(
        device: &wgpu::Device,
        label: &'static str,
        usage: wgpu::BufferUsages,
        capacity: usize,
    ) -> wgpu::Buffer {
        device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: (capacity * std::mem::size_of::<T>()) as u64,
            usage,
            mapped_at_creation: false,
        })
    }

    /// Room for `len` elements, growing when needed; the first `len` elements are then
    /// unspecified. Returns true when the buffer was replaced (bind groups on it must be rebuilt).
    pub fn reserve(&mut self, device: &wgpu::Device, len: usize) -> bool {
        self.len = len;
        if len <= self.capacity {
            return false;
        }
        self.capacity = len.next_power_of_two();
        self.raw = GpuBuffer::<T>::create(device, self.label, self.usage, self.capacity);
        true
    }

    /// Replaces the contents with `data`, growing when needed. Returns true when the buffer was
    /// replaced.
    pub fn write(&mut self, device: &wgpu::Device, queue: &wgpu::Queue, data: &[T]) -> bool {
        let grew = self.reserve(device, data.len());
        if !data.is_empty() {
            queue.write_buffer(&self.raw, 0, bytemuck::cast_slice(data));
        }
        grew
    }

    /// Writes `data` at element `at` (within what `reserve` or `write` made room for).
    pub fn write_at(&self, queue: &wgpu::Queue, at: usize, data: &[T]) {
        if !data.is_empty() && at + data.len() <= self.capacity {
            let offset = (at * std::mem::size_of::<T>()) as u64;
            queue.write_buffer(&self.raw, offset, bytemuck::cast_slice(data));
        }
    }

    pub fn raw(&self) -> &wgpu::Buffer {
        &self.raw
    }

    /// The written elements, for a vertex or index buffer binding.
    pub fn slice(&self) -> wgpu::BufferSlice<'_> {
        let bytes = (self.len.max(1) * std::mem::size_of::<T>()) as u64;
        self.raw.slice(..bytes)
    }
}
