//! Getting a frame onto the window. Two ways:
//! - **Surface**: a wgpu swapchain (every hardware adapter).
//! - **Copy**: for a software adapter, the frame is rendered into an offscreen texture, read back
//!   (the "GPU" is the CPU, so this is a memory copy) and handed to the window system through
//!   softbuffer, which shares memory with the X server (MIT-SHM) or the Wayland compositor. Mesa's
//!   software Vulkan presents to an X server without DRI3 (Xvfb, or any server without a GPU
//!   driver) by sending every pixel through the X socket instead, which at 3840x2160 costs more than
//!   drawing the frame.
//!
//! Both keep the frame size in physical pixels, clamped to what the adapter renders; a zero-size
//! (minimized) window draws nothing, and a lost or outdated surface is rebuilt, never a panic.

use crate::frame::PxRect;
use crate::render::context::GpuContext;
use crate::render::offscreen::Offscreen;
use crate::render::readback;
use std::num::NonZeroU32;
use std::sync::Arc;
use thiserror::Error;
use winit::window::Window;

/// Why the window cannot be presented to.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PresentError {
    #[error("unknown present mode '{0}' (use auto, surface or copy)")]
    UnknownMode(String),
    #[error("the surface offers no formats")]
    NoFormats,
    #[error("cannot present by copy: {0}")]
    Copy(String),
    #[error("this window's surface cannot be read back for --screenshot")]
    NotReadable,
}

/// How the window is presented (`kvscope run --present`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PresentMode {
    /// Copy on software adapters, the surface otherwise.
    #[default]
    Auto,
    Surface,
    Copy,
}

impl std::str::FromStr for PresentMode {
    type Err = PresentError;
    fn from_str(s: &str) -> Result<Self, PresentError> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(PresentMode::Auto),
            "surface" => Ok(PresentMode::Surface),
            "copy" => Ok(PresentMode::Copy),
            _ => Err(PresentError::UnknownMode(s.to_string())),
        }
    }
}

/// What a frame draw came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drawn {
    /// Shown.
    Presented,
    /// Nothing shown this time (zero size, surface rebuilt, timeout); try again next frame.
    Skipped,
}

/// The copy way's frame and two read-back buffers: while one frame is copied to the window, the
/// next one renders into the other (so the window shows each frame one frame late, and the CPU's
/// cores are not idle while the rasterizer waits on a single-threaded copy, or the other way round).
/// The frame keeps its pixels, so the renderer brings it up to date only where it changed; each
/// buffer, and the window's buffer, then catch up with only the rectangles they lack.
struct CopyTarget {
    offscreen: Offscreen,
    /// A frame has been recorded into `offscreen`.
    drawn: bool,
    staging: [wgpu::Buffer; 2],
    /// What each read-back buffer lacks of the frame.
    behind: [Behind; 2],
    /// What changed in the frame read back into each buffer (the window's buffer lacks it).
    changed: [Behind; 2],
    /// The buffer the next frame is read back into.
    next: usize,
    /// A frame read back (or being read back) and not yet shown: its buffer and submission.
    pending: Option<(usize, wgpu::SubmissionIndex)>,
}

/// Rectangles (physical x, y, w, h) a copy of the frame lacks, or all of it. Rectangles may
/// overlap (copying a pixel twice is harmless); past `Behind::MAX` it is all.
#[derive(Debug, Default)]
struct Behind {
    all: bool,
    rects: Vec<PxRect>,
}

impl Behind {
    const MAX: usize = 2048;

    fn everything() -> Behind {
        Behind {
            all: true,
            rects: Vec::new(),
        }
    }

    /// Adds a frame's changes (None: all of it).
    fn add(&mut self, changed: Option<&[PxRect]>) {
        match changed {
            _ if self.all => {}
            Some(r) if self.rects.len() + r.len() <= Self::MAX => self.rects.extend_from_slice(r),
            _ => {
                self.all = true;
                self.rects.clear();
            }
        }
    }

    fn add_behind(&mut self, other: &Behind) {
        if other.all {
            self.add(None);
        } else {
            self.add(Some(&other.rects));
        }
    }

    fn clear(&mut self) {
        self.all = false;
        self.rects.clear();
    }
}

type SoftSurface = softbuffer::Surface<Arc<Window>, Arc<Window>>;

// One per window: the larger variant's size does not matter.
#[allow(clippy::large_enum_variant)]
enum Way {
    Surface {
        surface: wgpu::Surface<'static>,
        config: wgpu::SurfaceConfiguration,
    },
    Copy {
        // The context must outlive the surface; softbuffer keeps its own reference.
        _context: softbuffer::Context<Arc<Window>>,
        surface: SoftSurface,
        target: Option<CopyTarget>,
        /// The size softbuffer's buffer has.
        soft_size: (u32, u32),
        /// What the window's buffer lacks of the frame shown next.
        soft_behind: Behind,
        /// The damage handed to the window (kept, so showing a frame does not allocate).
        soft_rects: Vec<softbuffer::Rect>,
    },
}

pub struct Presenter {
    way: Way,
    window: Arc<Window>,
    /// Frame size in physical px (clamped to the adapter's largest texture).
    width: u32,
    height: u32,
    pub format: wgpu::TextureFormat,
    /// Keep the pixels of the next frame shown on the window.
    capture: bool,
    /// The pixels kept: (width, height, RGBA rows).
    captured: Option<(u32, u32, Vec<u8>)>,
}

/// The texture format the copy path renders to: its bytes are softbuffer's 0RGB words once the
/// alpha byte is cleared.
pub const COPY_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Bgra8UnormSrgb;

impl Presenter {
    /// The wgpu surface way, with `surface` already created on `window`.
    /// `readable`: frames can be read back (for `--screenshot`), where the surface allows it.
    pub fn surface(
        ctx: &GpuContext,
        window: Arc<Window>,
        surface: wgpu::Surface<'static>,
        readable: bool,
    ) -> Result<Presenter, PresentError> {
        let caps = surface.get_capabilities(&ctx.adapter);
        let format = caps
            .formats
            .iter()
            .copied()
            .find(|f| *f == crate::render::offscreen::FORMAT)
            .or_else(|| caps.formats.iter().copied().find(|f| f.is_srgb()))
            .or_else(|| caps.formats.first().copied())
            .ok_or(PresentError::NoFormats)?;
        // Copies from the static layer need COPY_DST on the surface (software adapters only).
        let cached = ctx.software && caps.usages.contains(wgpu::TextureUsages::COPY_DST);
        let mut usage = wgpu::TextureUsages::RENDER_ATTACHMENT;
        if cached {
            usage |= wgpu::TextureUsages::COPY_DST;
        }
        if readable && caps.usages.contains(wgpu::TextureUsages::COPY_SRC) {
            usage |= wgpu::TextureUsages::COPY_SRC;
        }
        let config = wgpu::SurfaceConfiguration {
            usage,
            format,
            width: 1,
            height: 1,
            present_mode: if caps.present_modes.contains(&wgpu::PresentMode::Fifo) {
                wgpu::PresentMode::Fifo
            } else {
                caps.present_modes
                    .first()
                    .copied()
                    .unwrap_or(wgpu::PresentMode::Fifo)
            },
            alpha_mode: caps
                .alpha_modes
                .first()
                .copied()
                .unwrap_or(wgpu::CompositeAlphaMode::Auto),
            view_formats: vec![],
            desired_maximum_frame_latency: 2,
            color_space: Default::default(),
        };
        let mut p = Presenter {
            way: Way::Surface { surface, config },
            window,
            width: 0,
            height: 0,
            format,
            capture: false,
            captured: None,
        };
        let size = p.window.inner_size();
        p.resize(ctx, size.width, size.height);
        Ok(p)
    }

    /// The copy way (softbuffer); an error when the window system offers no way to take pixels.
    pub fn copy(ctx: &GpuContext, window: Arc<Window>) -> Result<Presenter, PresentError> {
        let context = softbuffer::Context::new(window.clone())
            .map_err(|e| PresentError::Copy(e.to_string()))?;
        let surface = softbuffer::Surface::new(&context, window.clone())
            .map_err(|e| PresentError::Copy(e.to_string()))?;
        let mut p = Presenter {
            way: Way::Copy {
                _context: context,
                surface,
                target: None,
                soft_size: (0, 0),
                soft_behind: Behind::everything(),
                soft_rects: Vec::new(),
            },
            window,
            width: 0,
            height: 0,
            format: COPY_FORMAT,
            capture: false,
            captured: None,
        };
        let size = p.window.inner_size();
        p.resize(ctx, size.width, size.height);
        Ok(p)
    }

    /// Whether the renderer may copy into the frame (its static layer needs that).
    pub fn allows_copies(&self) -> bool {
        match &self.way {
            Way::Surface { config, .. } => config.usage.contains(wgpu::TextureUsages::COPY_DST),
            Way::Copy { .. } => true,
        }
    }

    /// Keeps the pixels of the next frame that reaches the window (`take_capture` returns them).
    /// An error when this surface cannot be read back.
    pub fn capture_next(&mut self) -> Result<(), PresentError> {
        if let Way::Surface { config, .. } = &self.way {
            if !config.usage.contains(wgpu::TextureUsages::COPY_SRC) {
                return Err(PresentError::NotReadable);
            }
        }
        self.capture = true;
        Ok(())
    }

    /// The pixels of the frame shown since `capture_next`: (width, height, RGBA rows).
    pub fn take_capture(&mut self) -> Option<(u32, u32, Vec<u8>)> {
        self.captured.take()
    }

    pub fn name(&self) -> &'static str {
        match self.way {
            Way::Surface { .. } => "surface",
            Way::Copy { .. } => "copy",
        }
    }

    /// The frame size in physical px; (0, 0) while minimized.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The window's new size (physical px). Zero keeps the last configuration and draws nothing.
    pub fn resize(&mut self, ctx: &GpuContext, w: u32, h: u32) {
        if w == 0 || h == 0 {
            self.width = 0;
            self.height = 0;
            return;
        }
        // A window larger than the adapter can render is drawn at the largest size it can.
        let side = ctx.device.limits().max_texture_dimension_2d;
        self.width = w.min(side);
        self.height = h.min(side);
        if let Way::Surface { surface, config } = &mut self.way {
            config.width = self.width;
            config.height = self.height;
            surface.configure(&ctx.device, config);
        }
    }

    /// Records a frame with `record(encoder, texture, view, retained)` and shows it. `retained`:
    /// the texture holds the last frame recorded into it; `record` returns the rectangles it
    /// changed, or None when it drew the whole frame.
    pub fn draw<'d>(&mut self, ctx: &GpuContext, record: impl Record<'d>) -> Drawn {
        let (w, h) = (self.width, self.height);
        if w == 0 || h == 0 {
            return Drawn::Skipped;
        }
        let enc = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("frame"),
            });
        if matches!(self.way, Way::Surface { .. }) {
            self.draw_surface(ctx, enc, record)
        } else {
            self.draw_copy(ctx, enc, record)
        }
    }

    /// The surface's next texture, or why there is none this time (rebuilding what needs it).
    fn next_texture(&mut self, ctx: &GpuContext) -> Option<wgpu::SurfaceTexture> {
        let Way::Surface { surface, config } = &mut self.way else {
            return None;
        };
        match surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(f) => Some(f),
            wgpu::CurrentSurfaceTexture::Suboptimal(f) => {
                // Draw this one; reconfigure for the next.
                surface.configure(&ctx.device, config);
                Some(f)
            }
            wgpu::CurrentSurfaceTexture::Timeout | wgpu::CurrentSurfaceTexture::Occluded => None,
            wgpu::CurrentSurfaceTexture::Outdated => {
                let s = self.window.inner_size();
                self.resize(ctx, s.width, s.height);
                None
            }
            wgpu::CurrentSurfaceTexture::Lost => {
                match ctx.instance.create_surface(self.window.clone()) {
                    Ok(s) => {
                        *surface = s;
                        surface.configure(&ctx.device, config);
                    }
                    Err(e) => log::warn!("surface lost and not recreated: {e}"),
                }
                None
            }
            wgpu::CurrentSurfaceTexture::Validation => {
                log::warn!("surface validation error; reconfiguring");
                surface.configure(&ctx.device, config);
                None
            }
        }
    }

    fn draw_surface<'d>(
        &mut self,
        ctx: &GpuContext,
        mut enc: wgpu::CommandEncoder,
        record: impl Record<'d>,
    ) -> Drawn {
        let Some(frame) = self.next_texture(ctx) else {
            return Drawn::Skipped;
        };
        let view = frame
            .texture
            .create_view(&wgpu::TextureViewDescriptor::default());
        // A swapchain's textures do not keep the last frame.
        record(&mut enc, &frame.texture, &view, false);
        ctx.queue.submit(Some(enc.finish()));
        if self.capture {
            match readback::read_rgba(ctx, &frame.texture) {
                Ok(px) => {
                    let (w, h) = (frame.texture.width(), frame.texture.height());
                    self.captured = Some((w, h, px));
                    self.capture = false;
                }
                Err(e) => log::warn!("cannot read the frame back: {e}"),
            }
        }
        self.window.pre_present_notify();
        ctx.queue.present(frame);
        Drawn::Presented
    }

    /// Renders into the copy target, reads it back, and shows the frame read back the time before.
    fn draw_copy<'d>(
        &mut self,
        ctx: &GpuContext,
        mut enc: wgpu::CommandEncoder,
        record: impl Record<'d>,
    ) -> Drawn {
        let (w, h) = (self.width, self.height);
        let Way::Copy { target, .. } = &mut self.way else {
            return Drawn::Skipped;
        };
        if target
            .as_ref()
            .is_none_or(|t| t.offscreen.width != w || t.offscreen.height != h)
        {
            *target = Some(CopyTarget::new(ctx, w, h));
        }
        let Some(t) = target.as_mut() else {
            return Drawn::Skipped;
        };
        let changed = record(&mut enc, &t.offscreen.texture, &t.offscreen.view, t.drawn);
        t.drawn = true;
        let cur = t.next;
        // Both buffers lack this frame's changes; the one read back now catches up.
        for b in &mut t.behind {
            b.add(changed);
        }
        t.changed[cur].clear();
        t.changed[cur].add(changed);
        if t.behind[cur].all {
            readback::copy(&mut enc, &t.offscreen.texture, &t.staging[cur]);
        } else {
            for r in &t.behind[cur].rects {
                readback::copy_rect(&mut enc, &t.offscreen.texture, &t.staging[cur], *r);
            }
        }
        t.behind[cur].clear();
        t.next = 1 - cur;
        // The frame read back last time (nothing yet at the first frame), mapped by now.
        let prev = t.pending.take().and_then(|(show, index)| {
            let wait = wgpu::PollType::Wait {
                submission_index: Some(index),
                timeout: None,
            };
            match ctx.device.poll(wait) {
                Ok(_) => Some(show),
                Err(e) => {
                    log::warn!("frame not finished: {e}");
                    t.staging[show].unmap();
                    None
                }
            }
        });
        let index = ctx.queue.submit(Some(enc.finish()));
        t.staging[cur]
            .slice(..)
            .map_async(wgpu::MapMode::Read, |_| {});
        t.pending = Some((cur, index));
        let Some(show) = prev else {
            return Drawn::Skipped;
        };
        let shown = self.show(show);
        if let Way::Copy {
            target: Some(t), ..
        } = &self.way
        {
            t.staging[show].unmap();
        }
        shown
    }

    /// Hands read-back buffer `show` of the copy target to the window (and to the capture).
    fn show(&mut self, show: usize) -> Drawn {
        let (w, h) = (self.width, self.height);
        let Way::Copy {
            surface,
            target: Some(t),
            soft_size,
            soft_behind,
            soft_rects,
            ..
        } = &mut self.way
        else {
            return Drawn::Skipped;
        };
        let data = match t.staging[show].slice(..).get_mapped_range() {
            Ok(data) => data,
            Err(e) => {
                log::warn!("cannot read the frame: {e}");
                return Drawn::Skipped;
            }
        };
        let (Some(nw), Some(nh)) = (NonZeroU32::new(w), NonZeroU32::new(h)) else {
            return Drawn::Skipped;
        };
        if *soft_size != (w, h) {
            if let Err(e) = surface.resize(nw, nh) {
                log::warn!("cannot resize the window buffer: {e}");
                return Drawn::Skipped;
            }
            *soft_size = (w, h);
            soft_behind.add(None);
        }
        soft_behind.add_behind(&t.changed[show]);
        let mut out = match surface.buffer_mut() {
            Ok(out) => out,
            Err(e) => {
                log::warn!("cannot get the window buffer: {e}");
                return Drawn::Skipped;
            }
        };
        // A buffer that has not been shown holds nothing yet.
        if out.age() == 0 {
            soft_behind.add(None);
        }
        soft_rects.clear();
        if soft_behind.all {
            copy_rows(&data, w as usize, h as usize, &mut out);
            soft_rects.push(soft_rect([0, 0, w, h]));
        } else {
            copy_rects(&data, w as usize, &soft_behind.rects, &mut out);
            soft_rects.extend(soft_behind.rects.iter().map(|r| soft_rect(*r)));
        }
        if self.capture {
            let px = readback::unpad_rows(&data, w as usize, h as usize, true);
            self.captured = Some((w, h, px));
            self.capture = false;
        }
        self.window.pre_present_notify();
        match out.present_with_damage(soft_rects) {
            Ok(()) => {
                soft_behind.clear();
                Drawn::Presented
            }
            Err(e) => {
                log::warn!("cannot present: {e}");
                Drawn::Skipped
            }
        }
    }
}

impl CopyTarget {
    /// A `w` x `h` frame and its two read-back buffers.
    fn new(ctx: &GpuContext, w: u32, h: u32) -> CopyTarget {
        let staging = || readback::buffer(&ctx.device, "present staging", w, h);
        CopyTarget {
            offscreen: Offscreen::with_format(&ctx.device, w, h, COPY_FORMAT),
            drawn: false,
            staging: [staging(), staging()],
            behind: [Behind::everything(), Behind::everything()],
            changed: [Behind::everything(), Behind::everything()],
            next: 0,
            pending: None,
        }
    }
}

/// How a frame is recorded: `(encoder, texture, view, retained)`, returning the rectangles that
/// changed (None: all of it).
pub trait Record<'d>:
    FnOnce(&mut wgpu::CommandEncoder, &wgpu::Texture, &wgpu::TextureView, bool) -> Option<&'d [PxRect]>
{
}

impl<'d, F> Record<'d> for F where
    F: FnOnce(
        &mut wgpu::CommandEncoder,
        &wgpu::Texture,
        &wgpu::TextureView,
        bool,
    ) -> Option<&'d [PxRect]>
{
}

/// A damage rectangle for softbuffer (non-empty by construction: damage rectangles are).
fn soft_rect(r: PxRect) -> softbuffer::Rect {
    softbuffer::Rect {
        x: r[0],
        y: r[1],
        width: NonZeroU32::new(r[2]).unwrap_or(NonZeroU32::MIN),
        height: NonZeroU32::new(r[3]).unwrap_or(NonZeroU32::MIN),
    }
}

/// Pixels of a row (BGRA bytes) as 0RGB words: the alpha byte cleared.
fn row_words(src: &[u8], out: &mut [u32]) {
    match bytemuck::try_cast_slice::<u8, u32>(src) {
        // Little-endian BGRA bytes are ARGB words: clear the alpha byte.
        Ok(words) if cfg!(target_endian = "little") => {
            for (o, p) in out.iter_mut().zip(words) {
                *o = p & 0x00FF_FFFF;
            }
        }
        _ => {
            for (o, px) in out.iter_mut().zip(src.chunks_exact(4)) {
                *o = u32::from_le_bytes([px[0], px[1], px[2], 0]);
            }
        }
    }
}

/// Copies rectangles `rects` (x, y, w, h) of read-back BGRA rows of a `w`-pixel frame into the same
/// places of `dst` as 0RGB words; a large copy is shared out among the cores in bands of rows.
pub fn copy_rects(src: &[u8], w: usize, rects: &[PxRect], dst: &mut [u32]) {
    let rows = (dst.len() / w.max(1)).min(readback::rows_in(src, w));
    let area: usize = rects.iter().map(|r| r[2] as usize * r[3] as usize).sum();
    // Threads pay off only for large copies (a whole frame after a resize, say).
    let threads = if area < 1 << 20 {
        1
    } else {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 8)
    };
    let band = rows.div_ceil(threads).max(1);
    let dst = &mut dst[..rows * w];
    if threads == 1 {
        copy_band(src, w, rects, 0, dst);
        return;
    }
    std::thread::scope(|s| {
        for (i, chunk) in dst.chunks_mut(band * w).enumerate() {
            s.spawn(move || copy_band(src, w, rects, i * band, chunk));
        }
    });
}

/// Copies a whole `w` x `h` frame of read-back BGRA rows into `dst` as 0RGB words.
pub fn copy_rows(src: &[u8], w: usize, h: usize, dst: &mut [u32]) {
    copy_rects(src, w, &[[0, 0, w as u32, h as u32]], dst);
}

/// The parts of `rects` in rows `first..` of a `w`-pixel frame, into `band` (those rows).
fn copy_band(src: &[u8], w: usize, rects: &[PxRect], first: usize, band: &mut [u32]) {
    let end = first + band.len() / w.max(1);
    for r in rects {
        let x0 = (r[0] as usize).min(w);
        let x1 = (x0 + r[2] as usize).min(w);
        let y0 = (r[1] as usize).max(first);
        let y1 = (r[1] as usize + r[3] as usize).min(end);
        for y in y0..y1 {
            let out = &mut band[(y - first) * w + x0..(y - first) * w + x1];
            row_words(&readback::row(src, w, y)[x0 * 4..x1 * 4], out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_0rgb_words_without_padding() {
        // 3x2 BGRA pixels, rows padded to 256 bytes.
        let mut src = vec![0xEEu8; 512];
        for r in 0..2 {
            for x in 0..3 {
                let o = r * 256 + x * 4;
                src[o..o + 4].copy_from_slice(&[x as u8, 10 + r as u8, 200, 255]);
            }
        }
        let mut dst = vec![0u32; 6];
        copy_rows(&src, 3, 2, &mut dst);
        assert_eq!(dst[0], 0x00C8_0A00);
        assert_eq!(dst[2], 0x00C8_0A02);
        assert_eq!(dst[4], 0x00C8_0B01);
        assert!(dst.iter().all(|p| p >> 24 == 0));
    }

    #[test]
    fn rectangles_copy_only_themselves_on_one_thread_or_several() {
        // A 1100 x 1000 frame whose pixel (x, y) is BGRA (x % 256, y % 256, 7, 255).
        let (w, h) = (1100usize, 1000usize);
        let pad = readback::padded_row(w as u32) as usize;
        let mut src = vec![0u8; pad * h];
        for y in 0..h {
            for x in 0..w {
                let o = y * pad + x * 4;
                src[o..o + 4].copy_from_slice(&[(x % 256) as u8, (y % 256) as u8, 7, 255]);
            }
        }
        let word = |x: usize, y: usize| 0x0007_0000 | ((y % 256) as u32) << 8 | (x % 256) as u32;
        // Small: one thread. Two rectangles; everything else keeps its old value.
        let mut dst = vec![1u32; w * h];
        copy_rects(&src, w, &[[10, 20, 5, 3], [1090, 998, 10, 2]], &mut dst);
        assert_eq!(dst[20 * w + 10], word(10, 20));
        assert_eq!(dst[22 * w + 14], word(14, 22));
        assert_eq!(dst[999 * w + 1099], word(1099, 999));
        assert_eq!(dst[20 * w + 15], 1);
        assert_eq!(dst[23 * w + 10], 1);
        assert_eq!(dst.iter().filter(|&&p| p != 1).count(), 5 * 3 + 10 * 2);
        // The whole frame (over a million pixels): bands on several threads.
        let mut dst = vec![1u32; w * h];
        copy_rows(&src, w, h, &mut dst);
        assert!(dst
            .iter()
            .enumerate()
            .all(|(i, &p)| p == word(i % w, i / w)));
    }

    #[test]
    fn present_modes_parse() {
        assert_eq!("Copy".parse::<PresentMode>(), Ok(PresentMode::Copy));
        assert_eq!(
            "shm".parse::<PresentMode>().unwrap_err().to_string(),
            "unknown present mode 'shm' (use auto, surface or copy)"
        );
    }
}
