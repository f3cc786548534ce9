//! GPU (and accelerator) entries: capacity, memory type and packages, bandwidth, on-chip SRAM.

use super::{entries, hf::Fields, CatalogError};
use crate::calc::Device;
use serde::Serialize;
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum MemoryType {
    #[serde(rename = "HBM2")]
    Hbm2,
    #[serde(rename = "HBM2e")]
    Hbm2e,
    #[serde(rename = "HBM3")]
    Hbm3,
    #[serde(rename = "HBM3e")]
    Hbm3e,
    /// HBM whose generation the vendor does not state (TPU v6e, Trainium2).
    #[serde(rename = "HBM")]
    Hbm,
    #[serde(rename = "GDDR6")]
    Gddr6,
    #[serde(rename = "GDDR6X")]
    Gddr6x,
    #[serde(rename = "GDDR7")]
    Gddr7,
    #[serde(rename = "SRAM")]
    Sram,
}

impl MemoryType {
    pub fn parse(s: &str) -> Option<MemoryType> {
        Some(match s.to_ascii_uppercase().as_str() {
            "HBM2" => MemoryType::Hbm2,
            "HBM2E" => MemoryType::Hbm2e,
            "HBM3" => MemoryType::Hbm3,
            "HBM3E" => MemoryType::Hbm3e,
            "HBM" => MemoryType::Hbm,
            "GDDR6" => MemoryType::Gddr6,
            "GDDR6X" => MemoryType::Gddr6x,
            "GDDR7" => MemoryType::Gddr7,
            "SRAM" => MemoryType::Sram,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            MemoryType::Hbm2 => "HBM2",
            MemoryType::Hbm2e => "HBM2e",
            MemoryType::Hbm3 => "HBM3",
            MemoryType::Hbm3e => "HBM3e",
            MemoryType::Hbm => "HBM",
            MemoryType::Gddr6 => "GDDR6",
            MemoryType::Gddr6x => "GDDR6X",
            MemoryType::Gddr7 => "GDDR7",
            MemoryType::Sram => "SRAM",
        }
    }
    pub fn is_hbm(self) -> bool {
        matches!(
            self,
            MemoryType::Hbm2
                | MemoryType::Hbm2e
                | MemoryType::Hbm3
                | MemoryType::Hbm3e
                | MemoryType::Hbm
        )
    }
    pub fn is_gddr(self) -> bool {
        matches!(
            self,
            MemoryType::Gddr6 | MemoryType::Gddr6x | MemoryType::Gddr7
        )
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Gpu {
    pub id: String,
    pub name: String,
    pub vendor: String,
    /// Capacity in bytes. Vendors' "80 GB" of HBM/GDDR is 80 GiB of chips; we read GB as GiB.
    pub memory_bytes: u64,
    /// The vendor's figure as written, e.g. "80 GB".
    pub memory_label: String,
    pub memory_type: MemoryType,
    /// Active memory stacks/chips (what the scene draws); 1 for an SRAM device (the die itself).
    pub packages: u32,
    /// A wafer-scale die (Cerebras): drawn as a wafer.
    pub wafer: bool,
    /// Present on the package but disabled (H100 SXM: 6 sites, 5 active).
    pub inactive_packages: u32,
    /// Bytes per second (vendor's decimal GB/s).
    pub bandwidth: Option<f64>,
    /// L2 / Infinity Cache / on-die SRAM in bytes (decimal MB as stated x 2^20).
    pub onchip_sram_bytes: Option<u64>,
    /// FlashAttention-2 forward tile on this device: (query rows, key columns); None where FA2 has
    /// no kernel for it.
    pub flash_tile: Option<(u32, u32)>,
    /// The memory CUDA reports (`torch.cuda.mem_get_info()` total, as vLLM logs it), where a log
    /// was found; the driver keeps the rest.
    pub visible_memory_bytes: Option<u64>,
    /// Streaming multiprocessors, compute units, cores: `compute_units` of `compute_unit_name`.
    pub compute_units: Option<u64>,
    pub compute_unit_name: Option<String>,
    /// Dense (no sparsity) peak FLOP/s in bf16, or in fp16 where the device has no bf16.
    pub dense_flops: Option<f64>,
    /// Whether `dense_flops` is the bf16 figure (false: fp16).
    pub flops_bf16: bool,
    /// The device computes in bf16 (vLLM then serves fp32 checkpoints in bf16, else fp16).
    pub bf16: bool,
    /// Scale-up interconnect, e.g. "NVLink 4", and its per-device bandwidth in bytes/s as the
    /// vendor prints it (`link_direction` says which convention).
    pub link: Option<String>,
    pub link_bandwidth: Option<f64>,
    pub link_direction: Option<String>,
    pub source: String,
    pub notes: Option<String>,
}

impl Gpu {
    pub fn device(&self) -> Device {
        Device {
            id: self.id.clone(),
            name: self.name.clone(),
            memory_bytes: self.memory_bytes,
            bandwidth: self.bandwidth.unwrap_or(0.0),
            visible_memory_bytes: self.visible_memory_bytes,
            dense_flops: self.dense_flops.unwrap_or(0.0),
            bf16: self.bf16,
        }
    }
}

fn num(
    where_: &str,
    e: &serde_json::Map<String, Value>,
    key: &str,
) -> Result<Option<f64>, CatalogError> {
    match e.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_f64() {
            Some(x) if x > 0.0 && x.is_finite() => Ok(Some(x)),
            _ => Err(CatalogError::BadField {
                file: where_.to_string(),
                field: key.into(),
                why: format!("must be a positive number, found {v}"),
            }),
        },
    }
}

pub fn parse_gpus(file: &str, text: &str) -> Result<Vec<Gpu>, CatalogError> {
    let t: toml::Table = toml::from_str(text).map_err(|e| CatalogError::Malformed {
        file: file.to_string(),
        why: super::first_line(&e.to_string()),
    })?;
    let root = match serde_json::to_value(t) {
        Ok(Value::Object(m)) => m,
        _ => {
            return Err(CatalogError::Malformed {
                file: file.into(),
                why: "not a table".into(),
            })
        }
    };
    let mut out: Vec<Gpu> = Vec::new();
    for (i, e) in entries(file, &root, "gpus")?.into_iter().enumerate() {
        let id = e.get("id").and_then(Value::as_str).unwrap_or("");
        let where_ = if id.is_empty() {
            format!("{file} gpus[{i}]")
        } else {
            format!("{file} gpu \"{id}\"")
        };
        let gpu = parse_gpu(e, where_)?;
        if out.iter().any(|g| g.id == gpu.id) {
            return Err(CatalogError::Malformed {
                file: file.into(),
                why: format!("GPU id \"{}\" appears twice", gpu.id),
            });
        }
        out.push(gpu);
    }
    Ok(out)
}

/// One `[[gpus]]` entry; `where_` names it in errors.
fn parse_gpu(e: &serde_json::Map<String, Value>, where_: String) -> Result<Gpu, CatalogError> {
    let f = Fields::new(e, &where_);
    let missing = |k: &str| CatalogError::MissingField {
        file: where_.clone(),
        field: k.into(),
    };
    let s = |k: &str| -> Result<String, CatalogError> {
        f.opt_str(k)?.map(str::to_string).ok_or_else(|| missing(k))
    };
    let memory = num(&where_, e, "memory")?.ok_or_else(|| missing("memory"))?;
    let unit = s("memory_unit")?;
    let scale = unit_scale(&where_, &unit)?;
    let mt = s("memory_type")?;
    let memory_type = MemoryType::parse(&mt).ok_or_else(|| CatalogError::BadField {
        file: where_.clone(),
        field: "memory_type".into(),
        why: format!("\"{mt}\" is not one of HBM2 HBM2e HBM3 HBM3e GDDR6 GDDR6X GDDR7 SRAM"),
    })?;
    let packages = f.u64("packages")?;
    let inactive = f.opt_u64_zero("inactive_packages")?.unwrap_or(0);
    let flash_tile = flash_tile(&where_, e)?;
    let source = s("source")?;
    check_sources(&f, &where_)?;
    let bf16_flops = num(&where_, e, "bf16_tflops")?;
    let fp16_flops = num(&where_, e, "fp16_tflops")?;
    let visible = num(&where_, e, "visible_memory_gib")?;
    if let Some(v) = visible {
        if v * (1u64 << 30) as f64 > memory * scale {
            return Err(CatalogError::BadField {
                file: where_,
                field: "visible_memory_gib".into(),
                why: format!("{v} GiB is more than the device's {memory} {unit}"),
            });
        }
    }
    Ok(Gpu {
        id: s("id")?.to_ascii_lowercase(),
        name: s("name")?,
        vendor: s("vendor")?,
        memory_bytes: (memory * scale).round() as u64,
        memory_label: format!("{memory} {unit}"),
        memory_type,
        packages: packages.min(100_000) as u32,
        inactive_packages: inactive.min(1000) as u32,
        bandwidth: num(&where_, e, "bandwidth_tbs")?.map(|t| t * 1e12),
        onchip_sram_bytes: num(&where_, e, "onchip_sram_mb")?
            .map(|mb| (mb * (1u64 << 20) as f64).round() as u64),
        flash_tile,
        visible_memory_bytes: visible.map(|v| (v * (1u64 << 30) as f64).round() as u64),
        compute_units: f.opt_u64("compute_units")?,
        compute_unit_name: f.opt_str("compute_unit_name")?.map(str::to_string),
        dense_flops: bf16_flops.or(fp16_flops).map(|t| t * 1e12),
        flops_bf16: bf16_flops.is_some(),
        bf16: f.bool_or("bf16", true)?,
        wafer: f.bool_or("wafer", false)?,
        link: f.opt_str("link")?.map(str::to_string),
        link_bandwidth: num(&where_, e, "link_gbs")?.map(|g| g * 1e9),
        link_direction: f.opt_str("link_direction")?.map(str::to_string),
        source,
        notes: f.opt_str("notes")?.map(str::to_string),
    })
}

/// Bytes per `memory_unit`.
fn unit_scale(where_: &str, unit: &str) -> Result<f64, CatalogError> {
    Ok(match unit {
        "GB" | "GiB" => (1u64 << 30) as f64,
        "MB" | "MiB" => (1u64 << 20) as f64,
        other => {
            return Err(CatalogError::BadField {
                file: where_.to_string(),
                field: "memory_unit".into(),
                why: format!("must be GB, GiB, MB or MiB, found \"{other}\""),
            })
        }
    })
}

/// The FlashAttention-2 tile, `[rows, columns]`, when the entry gives one.
fn flash_tile(
    where_: &str,
    e: &serde_json::Map<String, Value>,
) -> Result<Option<(u32, u32)>, CatalogError> {
    match e.get("flash_tile") {
        None => Ok(None),
        Some(Value::Array(a))
            if a.len() == 2
                && a.iter()
                    .all(|v| v.as_u64().is_some_and(|n| (1..=4096).contains(&n))) =>
        {
            Ok(Some((
                a[0].as_u64().unwrap_or(1) as u32,
                a[1].as_u64().unwrap_or(1) as u32,
            )))
        }
        Some(v) => Err(CatalogError::BadField {
            file: where_.to_string(),
            field: "flash_tile".into(),
            why: format!("must be [rows, columns] between 1 and 4096, found {v}"),
        }),
    }
}

/// Every source field is a URL.
fn check_sources(f: &Fields, where_: &str) -> Result<(), CatalogError> {
    for key in [
        "source",
        "compute_units_source",
        "bf16_tflops_source",
        "fp16_tflops_source",
        "link_source",
        "onchip_sram_source",
        "visible_memory_source",
    ] {
        if let Some(v) = f.opt_str(key)? {
            if !v.starts_with("http") {
                return Err(CatalogError::BadField {
                    file: where_.to_string(),
                    field: key.into(),
                    why: "must be a URL".into(),
                });
            }
        }
    }
    Ok(())
}
