//! The app hosts a scene: in a window (a winit `ApplicationHandler` turning input into `Action`s on
//! the settings, stepping the clock by measured time) or headless (`headless`, for `kvscope
//! render` and tests), through the same scene view and renderer. Resizes, minimizing, zero-size
//! windows and lost or outdated surfaces are handled, never panics.

pub mod actions;
pub mod headless;
pub mod host;
pub mod present;

use crate::catalog::Catalog;
use crate::frame::Target;
use crate::render::context::{self, GpuContext, RenderError};
use crate::render::{readback, Renderer};
use crate::scenes::SceneId;
use crate::sim::{Settings, Sim};
use actions::{action_for, apply, Effect};
use host::Host;
use present::{Drawn, PresentError, PresentMode, Presenter};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use thiserror::Error;
use winit::application::ApplicationHandler;
use winit::dpi::LogicalSize;
use winit::event::{ElementState, WindowEvent};
use winit::event_loop::{ActiveEventLoop, ControlFlow, EventLoop};
use winit::keyboard::ModifiersState;
use winit::window::{Fullscreen, Window, WindowId};

/// Why the window could not run.
#[derive(Debug, Error)]
pub enum AppError {
    #[error(
        "cannot open a window: {0} (is a display available? set DISPLAY, or use `kvscope render`)"
    )]
    EventLoop(String),
    #[error("cannot create a window: {0}")]
    Window(String),
    #[error("cannot create a surface: {0}")]
    Surface(String),
    #[error("window event loop failed: {0}")]
    Run(String),
    #[error("the window showed no frame to write as a screenshot")]
    NoFrame,
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Present(#[from] PresentError),
}

#[derive(Clone, Debug)]
pub struct RunOptions {
    pub fullscreen: bool,
    /// Exit after this many frames, drawn as fast as they can be (measurements).
    pub frames: Option<u64>,
    /// Exit after this many seconds, paced to the display as in normal use.
    pub seconds: Option<f64>,
    /// Write the frame on the window when the run ends to this PNG.
    pub screenshot: Option<PathBuf>,
    pub size: (u32, u32),
    pub backend: Option<String>,
    pub present: PresentMode,
}

struct Gfx {
    window: Arc<Window>,
    presenter: Presenter,
    ctx: GpuContext,
    host: Host,
}

struct App {
    settings: Settings,
    catalog: Catalog,
    opts: RunOptions,
    gfx: Option<Gfx>,
    error: Option<AppError>,
    /// The simulation (advances by dt x speed while playing).
    sim: Sim,
    /// Seconds of animation (advances by dt while playing; freezes when paused).
    anim_time: f64,
    last: Option<Instant>,
    frames: u64,
    /// Time between frames, recorded only for a run of `--frames` or `--seconds` (bounded).
    frame_ms: Vec<f64>,
    modifiers: ModifiersState,
    started: Instant,
    /// When the next frame is due (paced runs).
    next_frame: Instant,
    /// The run is over; waiting for the screenshot's frame to reach the window.
    finishing: bool,
    /// Frames drawn while finishing.
    finish_frames: u32,
}

/// Most frame gaps a run keeps for its median.
const MAX_RECORDED_FRAMES: usize = 1 << 20;

/// Opens the window and runs until it is closed (or `frames` frames are drawn).
pub fn run(settings: Settings, catalog: Catalog, opts: RunOptions) -> Result<String, AppError> {
    let event_loop = EventLoop::new().map_err(|e| AppError::EventLoop(e.to_string()))?;
    event_loop.set_control_flow(ControlFlow::Poll);
    let sim = Sim::new(&settings);
    let now = Instant::now();
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
        started: now,
        next_frame: now,
        finishing: false,
        finish_frames: 0,
    };
    event_loop
        .run_app(&mut app)
        .map_err(|e| AppError::Run(e.to_string()))?;
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
    /// Normal use draws at the display's refresh rate (a kiosk should not burn its cores on frames
    /// nobody sees); a run of `--frames` draws as fast as it can, for measurements.
    fn paced(&self) -> bool {
        self.opts.frames.is_none()
    }

    /// Seconds between frames at the display's refresh rate (60 Hz when it does not say).
    fn frame_interval(&self) -> std::time::Duration {
        let mhz = self
            .gfx
            .as_ref()
            .and_then(|g| g.window.current_monitor())
            .and_then(|m| m.refresh_rate_millihertz())
            .filter(|&m| (1_000..=1_000_000).contains(&m))
            .unwrap_or(60_000);
        std::time::Duration::from_secs_f64(1000.0 / mhz as f64)
    }

    fn init(&mut self, el: &ActiveEventLoop) -> Result<(), AppError> {
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
                .map_err(|e| AppError::Window(e.to_string()))?,
        );
        let instance = context::instance(
            self.opts.backend.as_deref(),
            Some(Box::new(el.owned_display_handle())),
        )?;
        let surface = instance
            .create_surface(window.clone())
            .map_err(|e| AppError::Surface(e.to_string()))?;
        let ctx = pollster::block_on(GpuContext::new(instance, Some(&surface)))?;
        let readable = self.opts.screenshot.is_some();
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
                    Presenter::surface(&ctx, window.clone(), surface, readable)?
                }
                Err(e) => return Err(e.into()),
            }
        } else {
            Presenter::surface(&ctx, window.clone(), surface, readable)?
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
            host: Host::new(renderer, SceneId::Memory),
        });
        Ok(())
    }

    fn resize(&mut self, w: u32, h: u32) {
        if let Some(g) = &mut self.gfx {
            g.presenter.resize(&g.ctx, w, h);
        }
    }

    /// Steps the clocks by the time since the last frame (recorded for measurements) and sets when
    /// the next frame is due.
    fn tick(&mut self) {
        let now = Instant::now();
        let gap = self
            .last
            .map(|l| now.duration_since(l).as_secs_f64())
            .unwrap_or(0.0);
        let measuring = self.opts.frames.is_some() || self.opts.seconds.is_some();
        if self.last.is_some() && measuring && self.frame_ms.len() < MAX_RECORDED_FRAMES {
            // The real gap, however long: a stall is what a measurement must see.
            self.frame_ms.push(gap * 1000.0);
        }
        self.last = Some(now);
        if self.paced() {
            let next = self.next_frame + self.frame_interval();
            self.next_frame = next.max(now);
        }
        // The clock steps at most a quarter second a frame (a stalled window does not jump).
        let dt = gap.min(0.25);
        if !self.settings.paused {
            self.anim_time += dt;
        }
        self.sim.advance(dt);
    }

    fn frame(&mut self, el: &ActiveEventLoop) {
        self.tick();
        let Some(g) = &mut self.gfx else {
            return;
        };
        let (w, h) = g.presenter.size();
        if w == 0 || h == 0 {
            return;
        }
        // Is this the run's last frame? Then its pixels become the screenshot.
        let last = self.opts.frames.is_some_and(|n| self.frames + 1 >= n)
            || self
                .opts
                .seconds
                .is_some_and(|s| self.started.elapsed().as_secs_f64() >= s);
        if last && !self.finishing {
            self.finishing = true;
            if self.opts.screenshot.is_some() {
                if let Err(e) = g.presenter.capture_next() {
                    self.error = Some(e.into());
                    el.exit();
                    return;
                }
            }
        }
        let state = self.sim.scene();
        let target = Target {
            width: w,
            height: h,
            scale: g.window.scale_factor() as f32,
        };
        g.host
            .prepare(&g.ctx, &state, target, self.anim_time as f32);
        let host = &g.host;
        let drawn = g
            .presenter
            .draw(&g.ctx, |enc, texture, view| host.render(enc, texture, view));
        if drawn == Drawn::Skipped {
            return;
        }
        self.frames += 1;
        if self.finishing {
            self.finish(el);
        }
    }

    /// After the run's last frame: write the screenshot once the window has shown it, and exit.
    fn finish(&mut self, el: &ActiveEventLoop) {
        let Some(g) = &mut self.gfx else {
            return;
        };
        match (&self.opts.screenshot, g.presenter.take_capture()) {
            // The screenshot is the frame the window shows (with the copy presenter, the frame
            // before the one just drawn: the window shows each frame one frame late).
            (Some(path), Some((cw, ch, px))) => {
                if let Err(e) = readback::write_png(path, cw, ch, &px) {
                    self.error = Some(e.into());
                }
                el.exit();
            }
            // Not shown yet (the copy presenter's first frame): the next frame keeps it.
            (Some(_), None) => {
                self.finish_frames += 1;
                if self.finish_frames > 120 {
                    self.error = Some(AppError::NoFrame);
                    el.exit();
                }
            }
            (None, _) => el.exit(),
        }
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

    fn about_to_wait(&mut self, el: &ActiveEventLoop) {
        let Some(g) = &self.gfx else {
            return;
        };
        if !self.paced() || self.finishing {
            g.window.request_redraw();
            return;
        }
        if Instant::now() >= self.next_frame {
            g.window.request_redraw();
        }
        el.set_control_flow(ControlFlow::WaitUntil(self.next_frame));
    }
}
