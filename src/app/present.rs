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
struct CopyTarget {
    offscreen: Offscreen,
    staging: [wgpu::Buffer; 2],
    /// The buffer the next frame is read back into.
    next: usize,
    /// A frame read back (or being read back) and not yet shown: its buffer and submission.
    pending: Option<(usize, wgpu::SubmissionIndex)>,
}

type SoftSurface = softbuffer::Surface<Arc<Window>, Arc<Window>>;

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

    /// Records a frame with `record(encoder, texture, view)` and shows it.
    pub fn draw(
        &mut self,
        ctx: &GpuContext,
        record: impl FnOnce(&mut wgpu::CommandEncoder, &wgpu::Texture, &wgpu::TextureView),
    ) -> Drawn {
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

    fn draw_surface(
        &mut self,
        ctx: &GpuContext,
        mut enc: wgpu::CommandEncoder,
        record: impl FnOnce(&mut wgpu::CommandEncoder, &wgpu::Texture, &wgpu::TextureView),
    ) -> Drawn {
        let Some(frame) = self.next_texture(ctx) else {
            return Drawn::Skipped;
        };
        let view = frame
            .texture
            .create_view(&wgpu::TextureViewDescriptor::default());
        record(&mut enc, &frame.texture, &view);
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
    fn draw_copy(
        &mut self,
        ctx: &GpuContext,
        mut enc: wgpu::CommandEncoder,
        record: impl FnOnce(&mut wgpu::CommandEncoder, &wgpu::Texture, &wgpu::TextureView),
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
        record(&mut enc, &t.offscreen.texture, &t.offscreen.view);
        let cur = t.next;
        readback::copy(&mut enc, &t.offscreen.texture, &t.staging[cur]);
        let index = ctx.queue.submit(Some(enc.finish()));
        t.staging[cur]
            .slice(..)
            .map_async(wgpu::MapMode::Read, |_| {});
        t.next = 1 - cur;
        // Show the previous frame while this one renders (nothing yet at the first frame).
        let Some((show, index)) = t.pending.replace((cur, index)) else {
            return Drawn::Skipped;
        };
        let wait = wgpu::PollType::Wait {
            submission_index: Some(index),
            timeout: None,
        };
        if let Err(e) = ctx.device.poll(wait) {
            log::warn!("frame not finished: {e}");
            t.staging[show].unmap();
            return Drawn::Skipped;
        }
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
        }
        let mut out = match surface.buffer_mut() {
            Ok(out) => out,
            Err(e) => {
                log::warn!("cannot get the window buffer: {e}");
                return Drawn::Skipped;
            }
        };
        copy_rows(&data, w as usize, h as usize, &mut out);
        if self.capture {
            let px = readback::unpad_rows(&data, w as usize, h as usize, true);
            self.captured = Some((w, h, px));
            self.capture = false;
        }
        self.window.pre_present_notify();
        match out.present() {
            Ok(()) => Drawn::Presented,
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
            staging: [staging(), staging()],
            next: 0,
            pending: None,
        }
    }
}

/// Copies read-back BGRA rows into 0RGB words (alpha byte cleared), on as many threads as there
/// are cores: the rasterizer's threads are idle while this runs.
pub fn copy_rows(src: &[u8], w: usize, h: usize, dst: &mut [u32]) {
    let rows = h.min(dst.len() / w.max(1)).min(readback::rows_in(src, w));
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8);
    let per = rows.div_ceil(threads).max(1);
    std::thread::scope(|s| {
        for (i, chunk) in dst[..rows * w].chunks_mut(per * w).enumerate() {
            let first = i * per;
            s.spawn(move || {
                for (r, out) in chunk.chunks_exact_mut(w).enumerate() {
                    let row = readback::row(src, w, first + r);
                    match bytemuck::try_cast_slice::<u8, u32>(row) {
                        // Little-endian BGRA bytes are ARGB words: clear the alpha byte.
                        Ok(words) if cfg!(target_endian = "little") => {
                            for (o, p) in out.iter_mut().zip(words) {
                                *o = p & 0x00FF_FFFF;
                            }
                        }
                        _ => {
                            for (o, px) in out.iter_mut().zip(row.chunks_exact(4)) {
                                *o = u32::from_le_bytes([px[0], px[1], px[2], 0]);
                            }
                        }
                    }
                }
            });
        }
    });
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
    fn present_modes_parse() {
        assert_eq!("Copy".parse::<PresentMode>(), Ok(PresentMode::Copy));
        assert_eq!(
            "shm".parse::<PresentMode>().unwrap_err().to_string(),
            "unknown present mode 'shm' (use auto, surface or copy)"
        );
    }
}
