//! The window: a winit `ApplicationHandler` turning input into `Action`s on the settings, stepping
//! the clock by measured time, and drawing through the same `View` as the headless renderer.
//! Resizes, minimizing, zero-size windows and lost or outdated surfaces are handled, never panics.

pub mod actions;
pub mod present;

use crate::catalog::Catalog;
use crate::render::context::{self, GpuContext, RenderError};
use crate::render::view::TargetSize;
use crate::render::{offscreen, Renderer, View};
use crate::sim::{Scene, Settings, Sim};
use actions::{action_for, apply, Effect};
use present::{Drawn, PresentMode, Presenter};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use winit::application::ApplicationHandler;
use winit::dpi::LogicalSize;
use winit::event::{ElementState, WindowEvent};
use winit::event_loop::{ActiveEventLoop, ControlFlow, EventLoop};
use winit::keyboard::ModifiersState;
use winit::window::{Fullscreen, Window, WindowId};

#[derive(Clone, Debug)]
pub struct RunOptions {
    pub fullscreen: bool,
    pub frames: Option<u64>,
    pub screenshot: Option<PathBuf>,
    pub size: (u32, u32),
    pub backend: Option<String>,
    pub present: PresentMode,
}

struct Gfx {
    window: Arc<Window>,
    presenter: Presenter,
    ctx: GpuContext,
    renderer: Renderer,
    view: View,
}

struct App {
    settings: Settings,
    catalog: Catalog,
    opts: RunOptions,
    gfx: Option<Gfx>,
    error: Option<String>,
    /// The simulation (advances by dt x speed while playing).
    sim: Sim,
    /// Seconds of animation (advances by dt while playing; freezes when paused).
    anim_time: f64,
    last: Option<Instant>,
    frames: u64,
    frame_ms: Vec<f64>,
    modifiers: ModifiersState,
}

/// Opens the window and runs until it is closed (or `frames` frames are drawn).
pub fn run(settings: Settings, catalog: Catalog, opts: RunOptions) -> Result<String, String> {
    let event_loop = EventLoop::new().map_err(|e| {
        format!("cannot open a window: {e} (is a display available? set DISPLAY, or use `kvscope render`)")
    })?;
    event_loop.set_control_flow(ControlFlow::Poll);
    let sim = Sim::new(&settings);
    let mut app = App {
        sim,
        settings,
        catalog,
        opts,
        gfx: None,
        error: None,
        anim_time: 0.0,
        last: None,
        frames: 0,
        frame_ms: Vec::new(),
        modifiers: ModifiersState::default(),
    };
    event_loop
        .run_app(&mut app)
        .map_err(|e| format!("window event loop failed: {e}"))?;
    if let Some(e) = app.error {
        return Err(e);
    }
    let mut out = String::new();
    if !app.frame_ms.is_empty() {
        let mut v = app.frame_ms.clone();
        v.sort_by(|a, b| a.total_cmp(b));
        let med = v[v.len() / 2];
        out.push_str(&format!(
            "{} frames: median {:.2} ms between frames ({:.1} fps)\n",
            app.frames,
            med,
            1000.0 / med.max(1e-6)
        ));
    }
    Ok(out)
}

impl App {
    fn init(&mut self, el: &ActiveEventLoop) -> Result<(), String> {
        let mut attrs = Window::default_attributes()
            .with_title("kvscope")
            .with_inner_size(LogicalSize::new(
                self.opts.size.0 as f64,
                self.opts.size.1 as f64,
            ))
            .with_min_inner_size(LogicalSize::new(320.0, 240.0));
        if self.opts.fullscreen {
            attrs = attrs.with_fullscreen(Some(Fullscreen::Borderless(None)));
        }
        let window = Arc::new(
            el.create_window(attrs)
                .map_err(|e| format!("cannot create a window: {e}"))?,
        );
        let instance = context::instance(
            self.opts.backend.as_deref(),
            Some(Box::new(el.owned_display_handle())),
        )
        .map_err(|e| e.to_string())?;
        let surface = instance
            .create_surface(window.clone())
            .map_err(|e| format!("cannot create a surface: {e}"))?;
        let ctx = pollster::block_on(GpuContext::new(instance, Some(&surface)))
            .map_err(|e| e.to_string())?;
        let copy = match self.opts.present {
            PresentMode::Auto => ctx.software,
            PresentMode::Surface => false,
            PresentMode::Copy => true,
        };
        let presenter = if copy {
            match Presenter::copy(&ctx, window.clone()) {
                Ok(p) => {
                    drop(surface);
                    p
                }
                Err(e) if self.opts.present == PresentMode::Auto => {
                    log::warn!("{e}; presenting through the surface");
                    Presenter::surface(&ctx, window.clone(), surface)?
                }
                Err(e) => return Err(e),
            }
        } else {
            Presenter::surface(&ctx, window.clone(), surface)?
        };
        let size = window.inner_size();
        let format = presenter.format;
        let cached = ctx.software && presenter.allows_copies();
        let mut renderer = Renderer::new(
            &ctx.device,
            &ctx.queue,
            format,
            crate::render::particles::pool_for(ctx.software),
        );
        renderer.set_cached(cached);
        if cached {
            renderer.set_bank_budget(Some(Renderer::SOFTWARE_BANK_BUDGET));
        }
        log::info!(
            "window {}x{} @{} on {}, presented by {}",
            size.width,
            size.height,
            window.scale_factor(),
            ctx.adapter_name,
            presenter.name()
        );
        self.gfx = Some(Gfx {
            window,
            presenter,
            ctx,
            renderer,
            view: View::new(),
        });
        Ok(())
    }

    fn resize(&mut self, w: u32, h: u32) {
        if let Some(g) = &mut self.gfx {
            g.presenter.resize(&g.ctx, w, h);
        }
    }

    fn frame(&mut self, el: &ActiveEventLoop) {
        let now = Instant::now();
        let dt = self
            .last
            .map(|l| now.duration_since(l).as_secs_f64())
            .unwrap_or(0.0)
            .min(0.25);
        if self.last.is_some() {
            self.frame_ms.push(dt * 1000.0);
        }
        self.last = Some(now);
        if !self.settings.paused {
            self.anim_time += dt;
        }
        self.sim.advance(dt);
        let Some(g) = &mut self.gfx else {
            return;
        };
        let (w, h) = g.presenter.size();
        if w == 0 || h == 0 {
            return;
        }
        let scene = self.sim.scene();
        let scale = g.window.scale_factor() as f32;
        g.view.prepare(
            &mut g.renderer,
            &g.ctx.device,
            &g.ctx.queue,
            &scene,
            TargetSize {
                width: w,
                height: h,
                scale,
            },
            self.anim_time as f32,
        );
        let (renderer, device) = (&mut g.renderer, &g.ctx.device);
        let drawn = g.presenter.draw(&g.ctx, |enc, texture, view| {
            renderer.render(device, enc, texture, view)
        });
        if drawn == Drawn::Skipped {
            return;
        }
        g.renderer.text.trim();
        g.renderer.text_static.trim();
        self.frames += 1;
        if self.opts.frames.is_some_and(|n| self.frames >= n) {
            if let Some(path) = self.opts.screenshot.clone() {
                if let Err(e) = self.screenshot(&scene, w, h, scale, &path) {
                    self.error = Some(e.to_string());
                }
            }
            el.exit();
        }
    }

    /// Renders the last frame's scene at the window's size into a PNG.
    fn screenshot(
        &mut self,
        scene: &Scene,
        w: u32,
        h: u32,
        scale: f32,
        path: &std::path::Path,
    ) -> Result<(), RenderError> {
        let Some(g) = &mut self.gfx else {
            return Ok(());
        };
        let mut r = Renderer::new(
            &g.ctx.device,
            &g.ctx.queue,
            offscreen::FORMAT,
            crate::render::particles::pool_for(g.ctx.software),
        );
        let target = offscreen::Offscreen::new(&g.ctx.device, w, h);
        let mut view = View::new();
        view.prepare(
            &mut r,
            &g.ctx.device,
            &g.ctx.queue,
            scene,
            TargetSize {
                width: w,
                height: h,
                scale,
            },
            self.anim_time as f32,
        );
        let mut enc = g
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("screenshot"),
            });
        r.render(&g.ctx.device, &mut enc, &target.texture, &target.view);
        g.ctx.queue.submit(Some(enc.finish()));
        let rgba = offscreen::read_rgba(&g.ctx, &target.texture, w, h)?;
        offscreen::write_png(path, w, h, &rgba)
    }
}

impl ApplicationHandler for App {
    fn resumed(&mut self, el: &ActiveEventLoop) {
        if self.gfx.is_some() {
            return;
        }
        if let Err(e) = self.init(el) {
            self.error = Some(e);
            el.exit();
        }
    }

    fn window_event(&mut self, el: &ActiveEventLoop, _id: WindowId, event: WindowEvent) {
        match event {
            WindowEvent::CloseRequested => el.exit(),
            WindowEvent::Resized(size) => self.resize(size.width, size.height),
            WindowEvent::ScaleFactorChanged { .. } => {
                if let Some(g) = &self.gfx {
                    let s = g.window.inner_size();
                    self.resize(s.width, s.height);
                }
            }
            WindowEvent::ModifiersChanged(m) => self.modifiers = m.state(),
            WindowEvent::KeyboardInput { event, .. } if event.state == ElementState::Pressed => {
                if let Some(a) = action_for(&event.logical_key, self.modifiers.shift_key()) {
                    let effect = apply(&mut self.settings, &self.catalog, a);
                    self.sim.set_settings(&self.settings);
                    match effect {
                        Effect::Restart => self.sim.restart(),
                        Effect::Quit => el.exit(),
                        Effect::Fullscreen => {
                            if let Some(g) = &self.gfx {
                                let fs = if g.window.fullscreen().is_some() {
                                    None
                                } else {
                                    Some(Fullscreen::Borderless(None))
                                };
                                g.window.set_fullscreen(fs);
                            }
                        }
                        Effect::None => {}
                    }
                }
            }
            WindowEvent::RedrawRequested => self.frame(el),
            _ => {}
        }
    }

    fn about_to_wait(&mut self, _el: &ActiveEventLoop) {
        if let Some(g) = &self.gfx {
            g.window.request_redraw();
        }
    }
}

/// For `main`: converts a run failure into a one-line message.
pub fn run_window(
    settings: Settings,
    catalog: Catalog,
    opts: RunOptions,
) -> Result<String, String> {
    run(settings, catalog, opts)
}
