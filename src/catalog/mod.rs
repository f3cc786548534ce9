//! The catalog: GPUs and models with their public sources, loaded from TOML (embedded in the
//! binary, or `--catalog DIR`), plus the import of a Hugging Face `config.json`. Validation lives
//! here; arithmetic lives in `calc`.

pub mod gpu;
pub mod hf;

use crate::calc::{Model, Published};
pub use gpu::{Gpu, MemoryType};
use serde_json::{Map, Value};
use std::path::Path;
use thiserror::Error;

pub const GPUS_TOML: &str = include_str!("../../catalog/gpus.toml");
pub const MODELS_TOML: &str = include_str!("../../catalog/models.toml");

#[derive(Debug, Error, PartialEq)]
pub enum CatalogError {
    #[error("{file}: missing field `{field}`")]
    MissingField { file: String, field: String },
    #[error("{file}: field `{field}` {why}")]
    BadField {
        file: String,
        field: String,
        why: String,
    },
    #[error("{file}: contradictory config: {why}")]
    Contradiction { file: String, why: String },
    #[error("{file}: {why}")]
    Malformed { file: String, why: String },
    #[error("cannot read {file}: {why}")]
    Io { file: String, why: String },
    #[error("unknown {kind} \"{query}\"{}", suggest(.suggestions))]
    Unknown {
        kind: &'static str,
        query: String,
        suggestions: Vec<String>,
    },
}

fn suggest(s: &[String]) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!(" (closest: {})", s.join(", "))
    }
}

/// All GPUs and models.
#[derive(Clone, Debug)]
pub struct Catalog {
    pub gpus: Vec<Gpu>,
    pub models: Vec<Model>,
}

impl Catalog {
    /// The catalog compiled into the binary.
    pub fn builtin() -> Result<Catalog, CatalogError> {
        Catalog::from_sources(
            ("catalog/gpus.toml", GPUS_TOML),
            ("catalog/models.toml", MODELS_TOML),
        )
    }

    /// Loads `gpus.toml` and `models.toml` from a directory; a file that is absent falls back to the
    /// built-in one.
    pub fn load_dir(dir: &Path) -> Result<Catalog, CatalogError> {
        if !dir.is_dir() {
            return Err(CatalogError::Io {
                file: dir.display().to_string(),
                why: "not a directory".into(),
            });
        }
        let read = |name: &str, builtin: &'static str| -> Result<(String, String), CatalogError> {
            let p = dir.join(name);
            if p.exists() {
                let text = std::fs::read_to_string(&p).map_err(|e| CatalogError::Io {
                    file: p.display().to_string(),
                    why: e.to_string(),
                })?;
                Ok((p.display().to_string(), text))
            } else {
                Ok((format!("catalog/{name}"), builtin.to_string()))
            }
        };
        let g = read("gpus.toml", GPUS_TOML)?;
        let m = read("models.toml", MODELS_TOML)?;
        Catalog::from_sources((&g.0, &g.1), (&m.0, &m.1))
    }

    pub fn from_sources(gpus: (&str, &str), models: (&str, &str)) -> Result<Catalog, CatalogError> {
        let gpus = gpu::parse_gpus(gpus.0, gpus.1)?;
        let models = parse_models(models.0, models.1)?;
        Ok(Catalog { gpus, models })
    }

    /// A model by catalog id or Hugging Face repo id, case-insensitively.
    /// A model by catalog id or Hugging Face repo id (any case). A repo id of the instruction-
    /// tuned or chat checkpoint (`-Instruct`, `-it`, `-Chat`) finds the row of its base model, and
    /// the base model's id finds a row that lists the instruct repo: they share the architecture.
    pub fn model(&self, query: &str) -> Result<&Model, CatalogError> {
        let q = query.trim().to_ascii_lowercase();
        let exact = self.models.iter().find(|m| {
            m.id == q
                || m.hf_repo
                    .as_deref()
                    .is_some_and(|r| r.to_ascii_lowercase() == q)
        });
        let base = || {
            let b = base_repo(&q);
            self.models.iter().find(|m| {
                m.hf_repo
                    .as_deref()
                    .is_some_and(|r| base_repo(&r.to_ascii_lowercase()) == b)
            })
        };
        exact
            .or_else(|| if q.contains('/') { base() } else { None })
            .ok_or_else(|| CatalogError::Unknown {
                kind: "model",
                query: query.to_string(),
                suggestions: closest(&q, self.models.iter().map(|m| m.id.as_str())),
            })
    }

    pub fn gpu(&self, query: &str) -> Result<&Gpu, CatalogError> {
        let q = query.trim().to_ascii_lowercase();
        self.gpus
            .iter()
            .find(|g| g.id == q)
            .ok_or_else(|| CatalogError::Unknown {
                kind: "GPU",
                query: query.to_string(),
                suggestions: closest(&q, self.gpus.iter().map(|g| g.id.as_str())),
            })
    }
}

/// A repo id without its instruction-tuning mark: `google/gemma-2-9b-it` -> `google/gemma-2-9b`,
/// `mistralai/Mixtral-8x7B-Instruct-v0.1` -> `mistralai/Mixtral-8x7B-v0.1`.
fn base_repo(repo: &str) -> String {
    let mut r = repo.to_string();
    for mark in ["-instruct", "-chat"] {
        if let Some(i) = r.find(mark) {
            r.replace_range(i..i + mark.len(), "");
            return r;
        }
    }
    r.strip_suffix("-it").map(str::to_string).unwrap_or(r)
}

/// Up to three ids nearest to `q` by edit distance (and any id containing it).
pub fn closest<'a>(q: &str, ids: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut scored: Vec<(usize, &str)> = ids
        .map(|id| {
            let d = levenshtein(q, id);
            let d = if id.contains(q) || q.contains(id) {
                d.min(2)
            } else {
                d
            };
            (d, id)
        })
        .collect();
    scored.sort();
    let limit = (q.len() / 2).max(3);
    scored
        .into_iter()
        .filter(|(d, _)| *d <= limit)
        .take(3)
        .map(|(_, id)| id.to_string())
        .collect()
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn toml_to_json(file: &str, text: &str) -> Result<Map<String, Value>, CatalogError> {
    let t: toml::Table = toml::from_str(text).map_err(|e| CatalogError::Malformed {
        file: file.to_string(),
        why: first_line(&e.to_string()),
    })?;
    match serde_json::to_value(t) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(CatalogError::Malformed {
            file: file.to_string(),
            why: "not a table".into(),
        }),
    }
}

/// A parser's message on one line (toml and serde_json print a caret diagram below the first).
pub fn first_line(s: &str) -> String {
    let mut parts = s.lines().map(str::trim).filter(|l| !l.is_empty());
    let head = parts.next().unwrap_or("").to_string();
    // toml puts the message on the last line of its diagram.
    match s.lines().map(str::trim).rfind(|l| {
        !l.is_empty()
            && !l.starts_with('|')
            && !l.contains("-->")
            && !l
                .chars()
                .all(|c| c.is_ascii_digit() || c == '|' || c == ' ' || c == '^')
    }) {
        Some(last) if last != head && !head.is_empty() => format!("{head} {last}"),
        _ => head,
    }
}

/// The entries of a top-level array of tables (`[[models]]`).
pub(crate) fn entries<'a>(
    file: &str,
    root: &'a Map<String, Value>,
    key: &str,
) -> Result<Vec<&'a Map<String, Value>>, CatalogError> {
    match root.get(key) {
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_object().ok_or_else(|| CatalogError::Malformed {
                    file: file.to_string(),
                    why: format!("{key}[{i}] is not a table"),
                })
            })
            .collect(),
        _ => Err(CatalogError::Malformed {
            file: file.to_string(),
            why: format!("no [[{key}]] entries"),
        }),
    }
}

fn parse_models(file: &str, text: &str) -> Result<Vec<Model>, CatalogError> {
    let root = toml_to_json(file, text)?;
    let mut out: Vec<Model> = Vec::new();
    for (i, e) in entries(file, &root, "models")?.into_iter().enumerate() {
        let id = e.get("id").and_then(Value::as_str).unwrap_or("");
        let where_ = if id.is_empty() {
            format!("{file} models[{i}]")
        } else {
            format!("{file} model \"{id}\"")
        };
        let f = hf::Fields::new(e, &where_);
        let id = f.opt_str("id")?.ok_or_else(|| CatalogError::MissingField {
            file: where_.clone(),
            field: "id".into(),
        })?;
        let req = |k: &str| -> Result<String, CatalogError> {
            f.opt_str(k)?
                .map(str::to_string)
                .ok_or_else(|| CatalogError::MissingField {
                    file: where_.clone(),
                    field: k.into(),
                })
        };
        let meta = hf::Meta {
            id: id.to_ascii_lowercase(),
            name: req("name")?,
            hf_repo: f.opt_str("hf_repo")?.map(str::to_string),
            source: req("source")?,
            notes: f.opt_str("notes")?.map(str::to_string),
            published: Some(Published {
                total: f.u64("total_params")?,
                active: f.u64("active_params")?,
                source: req("params_source")?,
            }),
        };
        let config = match e.get("config") {
            Some(Value::Object(c)) => c,
            _ => {
                return Err(CatalogError::MissingField {
                    file: where_,
                    field: "config".into(),
                })
            }
        };
        let cf = hf::Fields::new(config, &where_);
        let model = hf::model_from_config(&cf, meta)?;
        if out.iter().any(|m| m.id == model.id) {
            return Err(CatalogError::Malformed {
                file: file.to_string(),
                why: format!("model id \"{}\" appears twice", model.id),
            });
        }
        out.push(model);
    }
    Ok(out)
}

/// Reads a Hugging Face `config.json` as published. Id and name come from the file name.
pub fn import_config(path: &Path) -> Result<Model, CatalogError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| CatalogError::Io {
        file: file.clone(),
        why: e.to_string(),
    })?;
    import_config_str(&file, &text)
}

pub fn import_config_str(file: &str, text: &str) -> Result<Model, CatalogError> {
    let v: Value = serde_json::from_str(text).map_err(|e| CatalogError::Malformed {
        file: file.to_string(),
        why: format!("invalid JSON: {e}"),
    })?;
    let Value::Object(map) = v else {
        return Err(CatalogError::Malformed {
            file: file.to_string(),
            why: "the top level is not a JSON object".into(),
        });
    };
    let f = hf::Fields::new(&map, file);
    let name = f
        .opt_str("_name_or_path")?
        .map(str::to_string)
        .unwrap_or_else(|| {
            Path::new(file)
                .parent()
                .and_then(|p| p.file_name())
                .map(|s| s.to_string_lossy().into_owned())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "imported model".to_string())
        });
    let meta = hf::Meta {
        id: name.to_ascii_lowercase(),
        name,
        hf_repo: None,
        source: file.to_string(),
        notes: None,
        published: None,
    };
    hf::model_from_config(&f, meta)
}
