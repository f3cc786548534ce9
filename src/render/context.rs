//! The wgpu context: instance, adapter, device and queue, for a window surface or an offscreen
//! target. Adapter choice: a real GPU when there is one, Mesa's software Vulkan otherwise;
//! `--backend` and the usual WGPU_* environment variables override.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum RenderError {
    #[error("no GPU adapter found ({0}); install a Vulkan driver, e.g. `apt-get install mesa-vulkan-drivers libvulkan1` for software rendering")]
    NoAdapter(String),
    #[error("cannot open a GPU device: {0}")]
    Device(String),
    #[error("cannot read the frame back: {0}")]
    Readback(String),
    #[error("cannot write {path}: {why}")]
    Write { path: String, why: String },
    #[error("unknown backend '{0}' (use vulkan, gl, metal, dx12 or auto)")]
    Backend(String),
}

/// The first line of an error's message (drivers write paragraphs).
fn first_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .to_string()
}

/// Which graphics APIs to try.
pub fn backends(name: Option<&str>) -> Result<wgpu::Backends, RenderError> {
    Ok(match name.map(|s| s.to_ascii_lowercase()) {
        // Vulkan/Metal/DX12 first; GL only when asked for (or as the fallback below).
        None => wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY),
        Some(s) => match s.as_str() {
            "auto" => wgpu::Backends::PRIMARY | wgpu::Backends::GL,
            "vulkan" => wgpu::Backends::VULKAN,
            "gl" => wgpu::Backends::GL,
            "metal" => wgpu::Backends::METAL,
            "dx12" => wgpu::Backends::DX12,
            _ => return Err(RenderError::Backend(s)),
        },
    })
}

/// Mesa's software Vulkan wants a private runtime directory; give it one when the session has none.
fn ensure_runtime_dir() {
    #[cfg(unix)]
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join("kvscope-runtime");
        if std::fs::create_dir_all(&dir).is_ok()
            && std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).is_ok()
        {
            std::env::set_var("XDG_RUNTIME_DIR", &dir);
        }
    }
}

/// A wgpu instance; pass the event loop's display handle when a window will be used.
pub fn instance(
    backend: Option<&str>,
    display: Option<Box<dyn wgpu::wgt::WgpuHasDisplayHandle>>,
) -> Result<wgpu::Instance, RenderError> {
    ensure_runtime_dir();
    let mut desc = match display {
        Some(d) => wgpu::InstanceDescriptor::new_with_display_handle(d),
        None => wgpu::InstanceDescriptor::new_without_display_handle(),
    }
    .with_env();
    desc.backends = backends(backend)?;
    Ok(wgpu::Instance::new(desc))
}

/// Device and queue on the best adapter for `surface` (or for offscreen work).
pub struct GpuContext {
    pub instance: wgpu::Instance,
    pub adapter: wgpu::Adapter,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    /// A CPU (software) adapter: effects are scaled down.
    pub software: bool,
    pub adapter_name: String,
}

impl GpuContext {
    /// The best adapter; offscreen, an OpenGL adapter is tried when no Vulkan/Metal/DX12 one is there.
    pub async fn new(
        instance: wgpu::Instance,
        surface: Option<&wgpu::Surface<'_>>,
    ) -> Result<GpuContext, RenderError> {
        GpuContext::with_fallback(instance, surface, true).await
    }

    /// As `new`; `fallback: false` when the user named a backend and means it.
    pub async fn with_fallback(
        instance: wgpu::Instance,
        surface: Option<&wgpu::Surface<'_>>,
        fallback: bool,
    ) -> Result<GpuContext, RenderError> {
        let opts = wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            compatible_surface: surface,
            ..Default::default()
        };
        let adapter = match instance.request_adapter(&opts).await {
            Ok(a) => a,
            Err(e)
                if fallback && surface.is_none() && std::env::var_os("WGPU_BACKEND").is_none() =>
            {
                // No Vulkan: try OpenGL (llvmpipe over EGL works headless).
                let mut desc = wgpu::InstanceDescriptor::new_without_display_handle().with_env();
                desc.backends = wgpu::Backends::GL;
                let gl = wgpu::Instance::new(desc);
                match gl.request_adapter(&opts).await {
                    Ok(a) => {
                        return GpuContext::finish(gl, a).await;
                    }
                    Err(_) => return Err(RenderError::NoAdapter(first_line(&e.to_string()))),
                }
            }
            Err(e) => return Err(RenderError::NoAdapter(first_line(&e.to_string()))),
        };
        GpuContext::finish(instance, adapter).await
    }

    async fn finish(
        instance: wgpu::Instance,
        adapter: wgpu::Adapter,
    ) -> Result<GpuContext, RenderError> {
        let info = adapter.get_info();
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("kvscope"),
                // What the adapter offers: big targets need its texture and buffer sizes.
                required_limits: adapter.limits(),
                ..Default::default()
            })
            .await
            .map_err(|e| RenderError::Device(e.to_string()))?;
        log::info!(
            "adapter: {} ({:?}, {:?})",
            info.name,
            info.device_type,
            info.backend
        );
        Ok(GpuContext {
            instance,
            software: info.device_type == wgpu::DeviceType::Cpu,
            adapter_name: format!("{} ({:?})", info.name, info.backend),
            adapter,
            device,
            queue,
        })
    }
}
