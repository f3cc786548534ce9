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
use std::num::NonZeroU32;
use std::sync::Arc;
use winit::window::Window;

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
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(PresentMode::Auto),
            "surface" => Ok(PresentMode::Surface),
            "copy" => Ok(PresentMode::Copy),
            _ => Err(format!(
                "unknown present mode '{s}' (use auto, surface or copy)"
            )),
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
    /// Bytes per row in `staging` (a multiple of 256).
    padded: u32,
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
    ) -> Result<Presenter, String> {
        let caps = surface.get_capabilities(&ctx.adapter);
        let format = caps
            .formats
            .iter()
            .copied()
            .find(|f| *f == crate::render::offscreen::FORMAT)
            .or_else(|| caps.formats.iter().copied().find(|f| f.is_srgb()))
            .or_else(|| caps.formats.first().copied())
            .ok_or_else(|| "the surface offers no formats".to_string())?;
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
    pub fn copy(ctx: &GpuContext, window: Arc<Window>) -> Result<Presenter, String> {
        let context = softbuffer::Context::new(window.clone())
            .map_err(|e| format!("cannot present by copy: {e}"))?;
        let surface = softbuffer::Surface::new(&context, window.clone())
            .map_err(|e| format!("cannot present by copy: {e}"))?;
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
    pub fn capture_next(&mut self) -> Result<(), String> {
        if let Way::Surface { config, .. } = &self.way {
            if !config.usage.contains(wgpu::TextureUsages::COPY_SRC) {
                return Err("this window's surface cannot be read back for --screenshot".into());
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
        let mut enc = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("frame"),
            });
        match &mut self.way {
            Way::Surface { surface, config } => {
                let frame = match surface.get_current_texture() {
                    wgpu::CurrentSurfaceTexture::Success(f) => f,
                    wgpu::CurrentSurfaceTexture::Suboptimal(f) => {
                        // Draw this one; reconfigure for the next.
                        surface.configure(&ctx.device, config);
                        f
                    }
                    wgpu::CurrentSurfaceTexture::Timeout
                    | wgpu::CurrentSurfaceTexture::Occluded => return Drawn::Skipped,
                    wgpu::CurrentSurfaceTexture::Outdated => {
                        let s = self.window.inner_size();
                        self.resize(ctx, s.width, s.height);
                        return Drawn::Skipped;
                    }
                    wgpu::CurrentSurfaceTexture::Lost => {
                        match ctx.instance.create_surface(self.window.clone()) {
                            Ok(s) => {
                                *surface = s;
                                surface.configure(&ctx.device, config);
                            }
                            Err(e) => log::warn!("surface lost and not recreated: {e}"),
                        }
                        return Drawn::Skipped;
                    }
                    wgpu::CurrentSurfaceTexture::Validation => {
                        log::warn!("surface validation error; reconfiguring");
                        surface.configure(&ctx.device, config);
                        return Drawn::Skipped;
                    }
                };
                let view = frame
                    .texture
                    .create_view(&wgpu::TextureViewDescriptor::default());
                record(&mut enc, &frame.texture, &view);
                ctx.queue.submit(Some(enc.finish()));
                if self.capture {
                    match crate::render::offscreen::read_rgba(ctx, &frame.texture, w, h) {
                        Ok(mut px) => {
                            if crate::render::offscreen::is_bgra(self.format) {
                                for p in px.chunks_exact_mut(4) {
                                    p.swap(0, 2);
                                }
                            }
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
            Way::Copy {
                surface,
                target,
                soft_size,
                ..
            } => {
                if target
                    .as_ref()
                    .is_none_or(|t| t.offscreen.width != w || t.offscreen.height != h)
                {
                    let padded = (w * 4).div_ceil(256) * 256;
                    let staging = || {
                        ctx.device.create_buffer(&wgpu::BufferDescriptor {
                            label: Some("present staging"),
                            size: padded as u64 * h as u64,
                            usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
                            mapped_at_creation: false,
                        })
                    };
                    *target = Some(CopyTarget {
                        offscreen: Offscreen::with_format(&ctx.device, w, h, COPY_FORMAT),
                        staging: [staging(), staging()],
                        padded,
                        next: 0,
                        pending: None,
                    });
                }
                let Some(t) = target.as_mut() else {
                    return Drawn::Skipped;
                };
                record(&mut enc, &t.offscreen.texture, &t.offscreen.view);
                let cur = t.next;
                enc.copy_texture_to_buffer(
                    wgpu::TexelCopyTextureInfo {
                        texture: &t.offscreen.texture,
                        mip_level: 0,
                        origin: wgpu::Origin3d::ZERO,
                        aspect: wgpu::TextureAspect::All,
                    },
                    wgpu::TexelCopyBufferInfo {
                        buffer: &t.staging[cur],
                        layout: wgpu::TexelCopyBufferLayout {
                            offset: 0,
                            bytes_per_row: Some(t.padded),
                            rows_per_image: Some(h),
                        },
                    },
                    wgpu::Extent3d {
                        width: w,
                        height: h,
                        depth_or_array_layers: 1,
                    },
                );
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
                let buf = &t.staging[show];
                let shown = match buf.slice(..).get_mapped_range() {
                    Ok(data) => {
                        let (Some(nw), Some(nh)) = (NonZeroU32::new(w), NonZeroU32::new(h)) else {
                            return Drawn::Skipped;
                        };
                        let resized = *soft_size == (w, h) || {
                            match surface.resize(nw, nh) {
                                Ok(()) => {
                                    *soft_size = (w, h);
                                    true
                                }
                                Err(e) => {
                                    log::warn!("cannot resize the window buffer: {e}");
                                    false
                                }
                            }
                        };
                        let shown = if !resized {
                            Drawn::Skipped
                        } else {
                            match surface.buffer_mut() {
                                Ok(mut out) => {
                                    copy_rows(
                                        &data,
                                        t.padded as usize,
                                        w as usize,
                                        h as usize,
                                        &mut out,
                                    );
                                    if self.capture {
                                        self.captured = Some((
                                            w,
                                            h,
                                            crate::render::offscreen::unpad_rows(
                                                &data,
                                                t.padded as usize,
                                                w as usize,
                                                h as usize,
                                                true,
                                            ),
                                        ));
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
                                Err(e) => {
                                    log::warn!("cannot get the window buffer: {e}");
                                    Drawn::Skipped
                                }
                            }
                        };
                        drop(data);
                        shown
                    }
                    Err(e) => {
                        log::warn!("cannot read the frame: {e}");
                        Drawn::Skipped
                    }
                };
                buf.unmap();
                shown
            }
        }
    }
}

/// Copies BGRA rows (`padded` bytes apart) into 0RGB words (alpha byte cleared), on as many threads
/// as there are cores: the rasterizer's threads are idle while this runs.
pub fn copy_rows(src: &[u8], padded: usize, w: usize, h: usize, dst: &mut [u32]) {
    let rows = h.min(dst.len() / w.max(1)).min(src.len() / padded.max(1));
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
                    let row = &src[(first + r) * padded..(first + r) * padded + w * 4];
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
        // 3x2 BGRA pixels, rows padded to 16 bytes.
        let mut src = vec![0xEEu8; 32];
        for r in 0..2 {
            for x in 0..3 {
                let o = r * 16 + x * 4;
                src[o..o + 4].copy_from_slice(&[x as u8, 10 + r as u8, 200, 255]);
            }
        }
        let mut dst = vec![0u32; 6];
        copy_rows(&src, 16, 3, 2, &mut dst);
        assert_eq!(dst[0], 0x00C8_0A00);
        assert_eq!(dst[2], 0x00C8_0A02);
        assert_eq!(dst[4], 0x00C8_0B01);
        assert!(dst.iter().all(|p| p >> 24 == 0));
    }

    #[test]
    fn present_modes_parse() {
        assert_eq!("Copy".parse::<PresentMode>(), Ok(PresentMode::Copy));
        assert!("shm".parse::<PresentMode>().is_err());
    }
}
