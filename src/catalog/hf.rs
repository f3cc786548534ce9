//! Reads a Hugging Face `config.json` (as published, or the same fields in a catalog TOML entry) into
//! a `calc::Model`: the attention layout of every layer and parameter counts derived from the shapes.
//! Supported `model_type`s: see `SUPPORTED`.

use super::CatalogError;
use crate::calc::{Attention, Dtype, Layer, Model, Params, WeightFormat};
use serde_json::{Map, Value};

/// The config's fields with the file they came from, so every error names both.
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    file: &'a str,
}

impl<'a> Fields<'a> {
    pub fn new(map: &'a Map<String, Value>, file: &'a str) -> Self {
        Fields { map, file }
    }

    fn missing(&self, field: &str) -> CatalogError {
        CatalogError::MissingField {
            file: self.file.to_string(),
            field: field.to_string(),
        }
    }

    fn bad(&self, field: &str, why: impl Into<String>) -> CatalogError {
        CatalogError::BadField {
            file: self.file.to_string(),
            field: field.to_string(),
            why: why.into(),
        }
    }

    fn contradiction(&self, why: impl Into<String>) -> CatalogError {
        CatalogError::Contradiction {
            file: self.file.to_string(),
            why: why.into(),
        }
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// A positive integer field, or None when absent/null.
    pub fn opt_u64(&self, key: &str) -> Result<Option<u64>, CatalogError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match v.as_u64() {
                Some(0) => Err(self.bad(key, "must be a positive integer, not 0")),
                Some(n) => Ok(Some(n)),
                None => Err(self.bad(key, format!("must be a positive integer, found {v}"))),
            },
        }
    }

    /// An integer field that may be 0.
    pub fn opt_u64_zero(&self, key: &str) -> Result<Option<u64>, CatalogError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.bad(key, format!("must be a non-negative integer, found {v}"))),
        }
    }

    pub fn u64(&self, key: &str) -> Result<u64, CatalogError> {
        self.opt_u64(key)?.ok_or_else(|| self.missing(key))
    }

    /// The first of several alternative names that is present.
    pub fn u64_any(&self, keys: &[&str]) -> Result<u64, CatalogError> {
        for k in keys {
            if let Some(v) = self.opt_u64(k)? {
                return Ok(v);
            }
        }
        Err(self.missing(&keys.join("` or `")))
    }

    pub fn bool_or(&self, key: &str, default: bool) -> Result<bool, CatalogError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| self.bad(key, format!("must be true or false, found {v}"))),
        }
    }

    pub fn opt_str(&self, key: &str) -> Result<Option<&'a str>, CatalogError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .map(Some)
                .ok_or_else(|| self.bad(key, format!("must be a string, found {v}"))),
        }
    }

    fn opt_u64_list(&self, key: &str) -> Result<Option<Vec<u64>>, CatalogError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_u64()
                        .ok_or_else(|| self.bad(key, format!("must list integers, found {v}")))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(v) => Err(self.bad(key, format!("must be a list, found {v}"))),
        }
    }

    /// `layer_types` as a list of "is this layer sliding/linear" strings.
    fn opt_str_list(&self, key: &str) -> Result<Option<Vec<&'a str>>, CatalogError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .ok_or_else(|| self.bad(key, format!("must list strings, found {v}")))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(v) => Err(self.bad(key, format!("must be a list, found {v}"))),
        }
    }

    /// A positive number field, or None when absent/null.
    fn opt_f64(&self, key: &str) -> Result<Option<f64>, CatalogError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match v.as_f64() {
                Some(x) if x > 0.0 && x.is_finite() => Ok(Some(x)),
                _ => Err(self.bad(key, format!("must be a positive number, found {v}"))),
            },
        }
    }

    fn sub(&self, key: &str) -> Option<Fields<'a>> {
        match self.get(key) {
            Some(Value::Object(m)) => Some(Fields {
                map: m,
                file: self.file,
            }),
            _ => None,
        }
    }
}

/// Identity and provenance given alongside the config.
pub struct Meta {
    pub id: String,
    pub name: String,
    pub hf_repo: Option<String>,
    pub source: String,
    pub notes: Option<String>,
    pub published: Option<crate::calc::Published>,
}

/// Per-layer pieces every family shares.
struct Counter {
    total: u64,
    active: u64,
    routed: u64,
    /// Of `total`: the token embedding and the LM head (once when tied).
    embedding: u64,
    /// Of `total`: a vision tower and its projector.
    vision: u64,
}

impl Counter {
    fn new() -> Self {
        Counter {
            total: 0,
            active: 0,
            routed: 0,
            embedding: 0,
            vision: 0,
        }
    }
    /// The token embedding and LM head matrices (`vocab x d`, once or twice).
    fn embed(&mut self, n: u64) {
        self.dense(n);
        self.embedding += n;
    }
    /// A vision tower (resident, not used for text tokens).
    fn vision(&mut self, n: u64) {
        self.total += n;
        self.vision += n;
    }
    /// Parameters every token uses.
    fn dense(&mut self, n: u64) {
        self.total += n;
        self.active += n;
    }
    /// Routed experts: `experts` of `size`, `k` used per token.
    fn routed(&mut self, experts: u64, k: u64, size: u64) {
        self.total += experts * size;
        self.routed += experts * size;
        self.active += k * size;
    }
}

/// A model whose every layer is `layer`, its weights as the checkpoint's quantization config says
/// (bf16 without one).
fn same_layers(
    f: &Fields,
    family: &str,
    c: &Common,
    layer: Layer,
    cnt: Counter,
    experts: (u64, u64, u64),
) -> Result<Model, CatalogError> {
    let weights = quantized(f, native_dtype(f, Dtype::Bf16)?)?;
    Ok(model(
        family,
        c,
        vec![layer; c.layers as usize],
        cnt,
        experts,
        weights,
    ))
}

/// A layer of full attention: `q_heads` query heads over `kv_heads` KV heads of `hd` dims.
fn full_layer(q_heads: u64, kv_heads: u64, hd: u64) -> Layer {
    Layer {
        attention: Attention::Full {
            kv_heads,
            k_dim: hd,
            v_dim: hd,
        },
        q_heads,
    }
}

/// Which layers of `n` use sliding windows: `layer_types` when the config lists them, else `default`.
fn layer_kinds(
    f: &Fields,
    n: u64,
    default: impl Fn(u64) -> &'static str,
) -> Result<Vec<String>, CatalogError> {
    match f.opt_str_list("layer_types")? {
        Some(list) => {
            if list.len() as u64 != n {
                return Err(f.contradiction(format!(
                    "`layer_types` lists {} layers but `num_hidden_layers` is {n}",
                    list.len()
                )));
            }
            for t in &list {
                if !matches!(
                    *t,
                    "full_attention" | "sliding_attention" | "linear_attention"
                ) {
                    return Err(f.bad("layer_types", format!("unknown layer type \"{t}\"")));
                }
            }
            Ok(list.iter().map(|s| s.to_string()).collect())
        }
        None => Ok((0..n).map(|i| default(i).to_string()).collect()),
    }
}

fn native_dtype(f: &Fields, default: Dtype) -> Result<Dtype, CatalogError> {
    let key = if f.get("torch_dtype").is_some() {
        "torch_dtype"
    } else {
        "dtype"
    };
    match f.opt_str(key)? {
        None => Ok(default),
        Some(s) => Dtype::parse(s).ok_or_else(|| f.bad(key, format!("unknown dtype \"{s}\""))),
    }
}

/// Parses a config into a model. `meta` gives id, name and sources.
pub fn model_from_config(f: &Fields, meta: Meta) -> Result<Model, CatalogError> {
    let family = f
        .opt_str("model_type")?
        .ok_or_else(|| f.missing("model_type"))?
        .to_string();
    // Multimodal Gemma 3 and Llama 4 keep the language model under text_config.
    if family == "gemma3" || family == "llama4" {
        if let Some(text) = f.sub("text_config") {
            let inner = if family == "gemma3" {
                "gemma3_text"
            } else {
                "llama4_text"
            };
            let mut m = parse_family(&text, inner, f)?;
            m.family = family;
            return Ok(finish(m, meta));
        }
    }
    let m = parse_family(f, &family, f)?;
    Ok(finish(m, meta))
}

fn finish(mut m: Model, meta: Meta) -> Model {
    m.id = meta.id;
    m.name = meta.name;
    m.hf_repo = meta.hf_repo;
    m.source = meta.source;
    m.notes = meta.notes;
    m.published = meta.published;
    m
}

struct Common {
    d: u64,
    layers: u64,
    heads: u64,
    kv_heads: u64,
    head_dim: u64,
    vocab: u64,
    max_pos: u64,
}

fn common(f: &Fields) -> Result<Common, CatalogError> {
    let d = f.u64("hidden_size")?;
    let layers = f.u64("num_hidden_layers")?;
    let heads = f.u64("num_attention_heads")?;
    let kv_heads = f.opt_u64("num_key_value_heads")?.unwrap_or(heads);
    if kv_heads > heads || heads % kv_heads != 0 {
        return Err(f.contradiction(format!(
            "`num_attention_heads` ({heads}) is not a multiple of `num_key_value_heads` ({kv_heads})"
        )));
    }
    let head_dim = match f.opt_u64("head_dim")? {
        Some(h) => h,
        None => {
            if d % heads != 0 {
                return Err(f.contradiction(format!(
                    "no `head_dim`, and `hidden_size` ({d}) is not a multiple of `num_attention_heads` ({heads})"
                )));
            }
            d / heads
        }
    };
    let vocab = f.u64("vocab_size")?;
    let max_pos = f.u64("max_position_embeddings")?;
    Ok(Common {
        d,
        layers,
        heads,
        kv_heads,
        head_dim,
        vocab,
        max_pos,
    })
}

fn model(
    family: &str,
    c: &Common,
    layers: Vec<Layer>,
    counter: Counter,
    experts: (u64, u64, u64),
    weights: WeightFormat,
) -> Model {
    Model {
        id: String::new(),
        name: String::new(),
        hf_repo: None,
        family: family.to_string(),
        hidden_size: c.d,
        vocab_size: c.vocab,
        layers,
        params: Params {
            total: counter.total,
            active: counter.active,
            routed_expert: counter.routed,
            experts: experts.0,
            experts_per_token: experts.1,
            moe_layers: experts.2,
            embedding: counter.embedding,
            vision: counter.vision,
        },
        weights,
        max_context: c.max_pos,
        published: None,
        source: String::new(),
        notes: None,
    }
}

fn check_topk(f: &Fields, e: u64, k: u64) -> Result<(), CatalogError> {
    if k > e {
        return Err(f.contradiction(format!("{k} experts per token but only {e} experts")));
    }
    Ok(())
}

fn parse_family(f: &Fields, family: &str, top: &Fields) -> Result<Model, CatalogError> {
    match family {
        "gpt2" => gpt2(f),
        "llama" | "mistral" | "mixtral" | "qwen2" | "qwen2_moe" | "qwen3" | "qwen3_moe"
        | "phi3" | "phimoe" | "gemma2" | "gemma3_text" => decoder(f, family, top),
        "qwen3_next" => qwen3_next(f),
        "deepseek_v2" | "deepseek_v3" | "kimi_k2" => deepseek(f, family),
        "gpt_oss" => gpt_oss(f),
        "llama4_text" => llama4(f, top),
        "glm4_moe" => glm4_moe(f),
        "minimax_m2" => minimax_m2(f),
        other => Err(f.bad(
            "model_type",
            format!("\"{other}\" is not supported (supported: {SUPPORTED})"),
        )),
    }
}

/// Parameters of grouped-query attention projections without biases: q and o of `heads` heads,
/// k and v of `kv_heads`, all `hd` wide, from and to width `d`.
fn gqa_params(d: u64, heads: u64, kv_heads: u64, hd: u64) -> u64 {
    d * heads * hd + 2 * d * kv_heads * hd + heads * hd * d
}

/// The `model_type`s the importer reads.
pub const SUPPORTED: &str = "gpt2 llama mistral mixtral qwen2 qwen2_moe qwen3 qwen3_moe qwen3_next gemma2 gemma3 gemma3_text llama4 deepseek_v2 deepseek_v3 kimi_k2 glm4_moe minimax_m2 gpt_oss phi3 phimoe";

/// The weights' format from `quantization_config.quant_method` (or a flat `quant_method`): FP8
/// checkpoints keep embeddings and LM head in the model dtype.
fn quantized(f: &Fields, rest: Dtype) -> Result<WeightFormat, CatalogError> {
    let quant = f
        .sub("quantization_config")
        .and_then(|q| q.opt_str("quant_method").ok().flatten())
        .or(f.opt_str("quant_method")?);
    Ok(match quant {
        Some("fp8") => WeightFormat::Quantized {
            linear: Dtype::Fp8,
            rest,
        },
        _ => WeightFormat::Uniform { dtype: rest },
    })
}

/// Llama 4 (text model): every 4th layer global attention without RoPE, the others chunked local
/// attention; MoE layers (every `interleave_moe_layer_step`-th) with one shared expert beside the
/// routed ones, dense layers of `intermediate_size_mlp`; the vision tower from `vision_config`.
fn llama4(f: &Fields, top: &Fields) -> Result<Model, CatalogError> {
    let c = common(f)?;
    let Common {
        d,
        layers: n,
        heads,
        kv_heads,
        head_dim: hd,
        vocab,
        ..
    } = c;
    let chunk = f.u64("attention_chunk_size")?;
    let e = f.u64("num_local_experts")?;
    let k = f.u64("num_experts_per_tok")?;
    check_topk(f, e, k)?;
    let inter = f.u64("intermediate_size")?;
    let inter_mlp = f.opt_u64("intermediate_size_mlp")?.unwrap_or(inter);
    let step = f.opt_u64("interleave_moe_layer_step")?.unwrap_or(1);
    let tied =
        f.bool_or("tie_word_embeddings", false)? || top.bool_or("tie_word_embeddings", false)?;
    // no_rope_layers[i] == 1: layer i uses RoPE and chunked attention; empty or absent: every
    // `no_rope_layer_interval`-th layer (default 4) is global.
    let rope = f.opt_u64_list("no_rope_layers")?.unwrap_or_default();
    let interval = f.opt_u64("no_rope_layer_interval")?.unwrap_or(4);
    let mut cnt = Counter::new();
    cnt.embed(vocab * d * if tied { 1 } else { 2 });
    cnt.dense(d);
    let attn = gqa_params(d, heads, kv_heads, hd);
    let mut layout = Vec::with_capacity(n as usize);
    let mut moe_layers = 0;
    for i in 0..n {
        cnt.dense(attn + 2 * d);
        if (i + 1) % step == 0 {
            moe_layers += 1;
            cnt.dense(d * e + 3 * d * inter);
            cnt.routed(e, k, 3 * d * inter);
        } else {
            cnt.dense(3 * d * inter_mlp);
        }
        let chunked = if rope.len() as u64 == n {
            rope[i as usize] == 1
        } else {
            (i + 1) % interval != 0
        };
        let attention = if chunked {
            Attention::Chunked {
                kv_heads,
                k_dim: hd,
                v_dim: hd,
                chunk,
            }
        } else {
            Attention::Full {
                kv_heads,
                k_dim: hd,
                v_dim: hd,
            }
        };
        layout.push(Layer {
            attention,
            q_heads: heads,
        });
    }
    if let Some(v) = top.sub("vision_config") {
        cnt.vision(llama4_vision_params(&v, d)?);
    }
    let dtype = native_dtype(f, Dtype::Bf16).or_else(|_| native_dtype(top, Dtype::Bf16))?;
    Ok(model(
        "llama4",
        &c,
        layout,
        cnt,
        (e, k, moe_layers),
        WeightFormat::Uniform { dtype },
    ))
}

/// Llama 4's vision encoder, pixel-shuffle adapter and projector into the text width `d_text`.
fn llama4_vision_params(v: &Fields, d_text: u64) -> Result<u64, CatalogError> {
    let d = v.u64("hidden_size")?;
    let i = v.u64("intermediate_size")?;
    let n = v.u64("num_hidden_layers")?;
    let patch = v.u64("patch_size")?;
    let image = v.u64("image_size")?;
    let channels = v.opt_u64("num_channels")?.unwrap_or(3);
    let proj_in = v.u64("projector_input_dim")?;
    let proj_out = v.u64("projector_output_dim")?;
    let out = v.u64("vision_output_dim")?;
    let ratio = v.opt_f64("pixel_shuffle_ratio")?.unwrap_or(0.5);
    let patches = (image / patch) * (image / patch);
    let embed = channels * patch * patch * d + d + (patches + 1) * d;
    let layernorms = 2 * 2 * d;
    let layer = 4 * (d * d + d) + (d * i + i) + (i * d + d) + 2 * 2 * d;
    let shuffled = (d as f64 / (ratio * ratio)).round() as u64;
    let adapter = shuffled * proj_in + proj_in * proj_out;
    let projector = out * d_text;
    Ok(embed + layernorms + n * layer + adapter + projector)
}

/// GLM-4.5 (glm4_moe): GQA with a QKV bias and optional QK norm, dense first layers, then routed
/// and shared experts with a sigmoid router and its correction bias. The MTP layers
/// (`num_nextn_predict_layers`) are not part of the main model and not counted.
fn glm4_moe(f: &Fields) -> Result<Model, CatalogError> {
    let c = common(f)?;
    let Common {
        d,
        layers: n,
        heads,
        kv_heads,
        head_dim: hd,
        vocab,
        ..
    } = c;
    let inter = f.u64("intermediate_size")?;
    let mi = f.u64("moe_intermediate_size")?;
    let e = f.u64("n_routed_experts")?;
    let shared = f.opt_u64_zero("n_shared_experts")?.unwrap_or(0);
    let k = f.u64("num_experts_per_tok")?;
    check_topk(f, e, k)?;
    let first_dense = f.opt_u64_zero("first_k_dense_replace")?.unwrap_or(0);
    let tied = f.bool_or("tie_word_embeddings", false)?;
    let bias = f.bool_or("attention_bias", false)?;
    let qk_norm = f.bool_or("use_qk_norm", false)?;
    let mut cnt = Counter::new();
    cnt.embed(vocab * d * if tied { 1 } else { 2 });
    cnt.dense(d);
    let mut attn = gqa_params(d, heads, kv_heads, hd);
    if bias {
        attn += heads * hd + 2 * kv_heads * hd;
    }
    if qk_norm {
        attn += 2 * hd;
    }
    let mut moe_layers = 0;
    for l in 0..n {
        cnt.dense(attn + 2 * d);
        if l >= first_dense {
            moe_layers += 1;
            cnt.dense(e * d + e + shared * 3 * d * mi);
            cnt.routed(e, k, 3 * d * mi);
        } else {
            cnt.dense(3 * d * inter);
        }
    }
    let layer = full_layer(heads, kv_heads, hd);
    same_layers(f, "glm4_moe", &c, layer, cnt, (e, k, moe_layers))
}

/// MiniMax-M2: full attention in every layer with a QK norm over the whole projections, MoE in
/// every layer (no shared expert) with a sigmoid router and its bias; FP8 checkpoint. MTP modules
/// are not counted.
fn minimax_m2(f: &Fields) -> Result<Model, CatalogError> {
    let c = common(f)?;
    let Common {
        d,
        layers: n,
        heads,
        kv_heads,
        head_dim: hd,
        vocab,
        ..
    } = c;
    let e = f.u64("num_local_experts")?;
    let k = f.u64("num_experts_per_tok")?;
    check_topk(f, e, k)?;
    let mi = f.u64("intermediate_size")?;
    let tied = f.bool_or("tie_word_embeddings", false)?;
    let qk_norm = f.bool_or("use_qk_norm", false)?;
    let routing_bias = f.bool_or("use_routing_bias", false)?;
    let mut cnt = Counter::new();
    cnt.embed(vocab * d * if tied { 1 } else { 2 });
    cnt.dense(d);
    let mut attn = gqa_params(d, heads, kv_heads, hd);
    if qk_norm {
        attn += heads * hd + kv_heads * hd;
    }
    for _ in 0..n {
        cnt.dense(attn + 2 * d + d * e + if routing_bias { e } else { 0 });
        cnt.routed(e, k, 3 * d * mi);
    }
    let layer = full_layer(heads, kv_heads, hd);
    same_layers(f, "minimax_m2", &c, layer, cnt, (e, k, n))
}

/// GPT-2: learned positions, fused QKV with biases, LayerNorms with biases, tied head, fp32 weights.
fn gpt2(f: &Fields) -> Result<Model, CatalogError> {
    let d = f.u64_any(&["n_embd", "hidden_size"])?;
    let layers = f.u64_any(&["n_layer", "num_hidden_layers"])?;
    let heads = f.u64_any(&["n_head", "num_attention_heads"])?;
    let vocab = f.u64("vocab_size")?;
    let max_pos = f.u64_any(&["n_positions", "max_position_embeddings"])?;
    let inner = f.opt_u64("n_inner")?.unwrap_or(4 * d);
    if d % heads != 0 {
        return Err(f.contradiction(format!(
            "`n_embd` ({d}) is not a multiple of `n_head` ({heads})"
        )));
    }
    let mut c = Counter::new();
    c.embed(vocab * d);
    c.dense(max_pos * d + 2 * d);
    let per_layer =
        2 * d + (d * 3 * d + 3 * d) + (d * d + d) + 2 * d + (d * inner + inner) + (inner * d + d);
    c.dense(layers * per_layer);
    let hd = d / heads;
    let layer = full_layer(heads, heads, hd);
    let common = Common {
        d,
        layers,
        heads,
        kv_heads: heads,
        head_dim: hd,
        vocab,
        max_pos,
    };
    let dtype = native_dtype(f, Dtype::Fp32)?;
    Ok(model(
        "gpt2",
        &common,
        vec![layer; layers as usize],
        c,
        (0, 0, 0),
        WeightFormat::Uniform { dtype },
    ))
}

/// The Llama-shaped decoders: llama, mistral, mixtral, qwen2(_moe), qwen3(_moe), phi3, phimoe,
/// gemma2, gemma3. Differences are in biases, norms, windows and the MLP.
fn decoder(f: &Fields, family: &str, top: &Fields) -> Result<Model, CatalogError> {
    let c = common(f)?;
    let mut cnt = Counter::new();
    decoder_embeddings_and_attention(f, family, &c, &mut cnt)?;
    let experts = decoder_mlp(f, family, &c, &mut cnt)?;
    let layout = decoder_layers(f, family, &c)?;
    // Gemma 3 multimodal: the SigLIP vision tower and projector are resident too.
    if family == "gemma3_text" {
        if let Some(v) = top.sub("vision_config") {
            cnt.vision(siglip_params(&v, c.d)?);
        }
    }
    let default = Dtype::Bf16;
    let dtype = native_dtype(f, default).or_else(|_| native_dtype(top, default))?;
    Ok(model(
        family,
        &c,
        layout,
        cnt,
        experts,
        WeightFormat::Uniform { dtype },
    ))
}

/// A decoder's embedding, head and final norm, and each layer's attention projections and norms.
fn decoder_embeddings_and_attention(
    f: &Fields,
    family: &str,
    c: &Common,
    cnt: &mut Counter,
) -> Result<(), CatalogError> {
    let (d, n, hd, vocab) = (c.d, c.layers, c.head_dim, c.vocab);
    let gemma = family.starts_with("gemma");
    let tied = f.bool_or("tie_word_embeddings", gemma)?;
    let norm_bias = family == "phimoe"; // PhiMoE uses LayerNorm with bias
    let norm = if norm_bias { 2 * d } else { d };
    cnt.embed(vocab * d * if tied { 1 } else { 2 });
    cnt.dense(norm);
    if f.bool_or("lm_head_bias", false)? {
        cnt.dense(vocab);
    }
    let q_out = c.heads * hd;
    let kv_out = c.kv_heads * hd;
    let (qkv_bias, o_bias) = match family {
        "qwen2" | "qwen2_moe" => (true, false),
        _ => {
            let b = f.bool_or("attention_bias", false)?;
            (b, b)
        }
    };
    let mut attn = d * q_out + 2 * d * kv_out + q_out * d;
    if qkv_bias {
        attn += q_out + 2 * kv_out;
    }
    if o_bias {
        attn += d;
    }
    if matches!(family, "qwen3" | "qwen3_moe" | "gemma3_text") {
        attn += 2 * hd; // q_norm, k_norm
    }
    let norms_per_layer = if gemma { 4 } else { 2 };
    cnt.dense(n * (attn + norms_per_layer * norm));
    Ok(())
}

/// A decoder's MLPs: dense, or routed experts (+ shared expert). Returns (experts, active per
/// token, MoE layers).
fn decoder_mlp(
    f: &Fields,
    family: &str,
    c: &Common,
    cnt: &mut Counter,
) -> Result<(u64, u64, u64), CatalogError> {
    let (d, n) = (c.d, c.layers);
    let mlp_bias = f.bool_or("mlp_bias", false)?;
    let dense_mlp = |i: u64| 3 * d * i + if mlp_bias { 2 * i + d } else { 0 };
    match family {
        "mixtral" | "phimoe" => {
            let e = f.u64("num_local_experts")?;
            let k = f.u64("num_experts_per_tok")?;
            check_topk(f, e, k)?;
            let i = f.u64("intermediate_size")?;
            cnt.dense(n * d * e); // router
            for _ in 0..n {
                cnt.routed(e, k, 3 * d * i);
            }
            Ok((e, k, n))
        }
        "qwen2_moe" | "qwen3_moe" => {
            let e = f.u64("num_experts")?;
            let k = f.u64("num_experts_per_tok")?;
            check_topk(f, e, k)?;
            let mi = f.u64("moe_intermediate_size")?;
            let step = f.opt_u64("decoder_sparse_step")?.unwrap_or(1);
            let dense_only = f.opt_u64_list("mlp_only_layers")?.unwrap_or_default();
            let shared = if family == "qwen2_moe" {
                f.opt_u64("shared_expert_intermediate_size")?.unwrap_or(0)
            } else {
                0
            };
            let mut moe_layers = 0;
            for l in 0..n {
                if !dense_only.contains(&l) && (l + 1) % step == 0 {
                    moe_layers += 1;
                    cnt.dense(d * e);
                    if shared > 0 {
                        cnt.dense(3 * d * shared + d); // shared expert + its gate
                    }
                    cnt.routed(e, k, 3 * d * mi);
                } else {
                    cnt.dense(dense_mlp(f.u64("intermediate_size")?));
                }
            }
            Ok((e, k, moe_layers))
        }
        _ => {
            let i = f.u64("intermediate_size")?;
            cnt.dense(n * dense_mlp(i));
            Ok((0, 0, 0))
        }
    }
}

/// Which layers of a decoder attend over a sliding window and which over everything.
fn decoder_layer_kinds(f: &Fields, family: &str, n: u64) -> Result<Vec<String>, CatalogError> {
    let window = f.opt_u64("sliding_window")?;
    match family {
        "gemma2" => layer_kinds(f, n, |i| {
            if i % 2 == 0 {
                "sliding_attention"
            } else {
                "full_attention"
            }
        }),
        "gemma3_text" => {
            let pattern = f.opt_u64("sliding_window_pattern")?.unwrap_or(6);
            layer_kinds(f, n, move |i| {
                if (i + 1) % pattern == 0 {
                    "full_attention"
                } else {
                    "sliding_attention"
                }
            })
        }
        "qwen2" | "qwen2_moe" | "qwen3" | "qwen3_moe" => {
            let on = f.bool_or("use_sliding_window", false)? && window.is_some();
            let from = f.opt_u64_zero("max_window_layers")?.unwrap_or(n);
            layer_kinds(f, n, move |i| {
                if on && i >= from {
                    "sliding_attention"
                } else {
                    "full_attention"
                }
            })
        }
        _ => {
            // mistral, mixtral, phi3, phimoe: a window, when set, applies to every layer.
            let on = window.is_some();
            layer_kinds(f, n, move |_| {
                if on {
                    "sliding_attention"
                } else {
                    "full_attention"
                }
            })
        }
    }
}

/// A decoder's attention layout, layer by layer.
fn decoder_layers(f: &Fields, family: &str, c: &Common) -> Result<Vec<Layer>, CatalogError> {
    let (kv_heads, hd) = (c.kv_heads, c.head_dim);
    let window = f.opt_u64("sliding_window")?;
    let kinds = decoder_layer_kinds(f, family, c.layers)?;
    let mut layout = Vec::with_capacity(kinds.len());
    for k in &kinds {
        let attention = match k.as_str() {
            "sliding_attention" => Attention::Sliding {
                kv_heads,
                k_dim: hd,
                v_dim: hd,
                window: window.ok_or_else(|| {
                    f.contradiction(
                        "`layer_types` has sliding layers but `sliding_window` is not set",
                    )
                })?,
            },
            "full_attention" => Attention::Full {
                kv_heads,
                k_dim: hd,
                v_dim: hd,
            },
            other => {
                return Err(f.bad(
                    "layer_types",
                    format!("\"{other}\" layers are not part of the {family} architecture"),
                ))
            }
        };
        layout.push(Layer {
            attention,
            q_heads: c.heads,
        });
    }
    Ok(layout)
}

/// SigLIP vision encoder plus Gemma 3's projector into the text width `d_text`.
fn siglip_params(v: &Fields, d_text: u64) -> Result<u64, CatalogError> {
    let d = v.u64("hidden_size")?;
    let i = v.u64("intermediate_size")?;
    let n = v.u64("num_hidden_layers")?;
    let patch = v.u64("patch_size")?;
    let image = v.u64("image_size")?;
    let channels = v.opt_u64("num_channels")?.unwrap_or(3);
    let patches = (image / patch) * (image / patch);
    let embed = channels * patch * patch * d + d + patches * d;
    let layer = 4 * (d * d + d) + (d * i + i) + (i * d + d) + 2 * 2 * d;
    let post = 2 * d;
    let projector = d * d_text + d;
    Ok(embed + n * layer + post + projector)
}

/// Qwen3-Next: 3 of 4 layers Gated DeltaNet (fixed state), every 4th gated full attention; MoE MLP
/// with a shared expert.
/// Qwen3-Next's linear-attention layers (Gated DeltaNet): heads and dims of keys and values, and
/// the causal convolution's kernel.
struct DeltaNet {
    k_heads: u64,
    v_heads: u64,
    k_dim: u64,
    v_dim: u64,
    conv_kernel: u64,
}

impl DeltaNet {
    fn read(f: &Fields) -> Result<DeltaNet, CatalogError> {
        Ok(DeltaNet {
            k_heads: f.u64("linear_num_key_heads")?,
            v_heads: f.u64("linear_num_value_heads")?,
            k_dim: f.u64("linear_key_head_dim")?,
            v_dim: f.u64("linear_value_head_dim")?,
            conv_kernel: f.u64("linear_conv_kernel_dim")?,
        })
    }

    fn key_dim(&self) -> u64 {
        self.k_heads * self.k_dim
    }

    fn value_dim(&self) -> u64 {
        self.v_heads * self.v_dim
    }

    /// Channels of the causal convolution (q, k and v).
    fn conv_dim(&self) -> u64 {
        2 * self.key_dim() + self.value_dim()
    }

    /// Elements of state per sequence: the recurrent state (v_heads x k_dim x v_dim) plus the
    /// causal-conv tail (conv_dim x (kernel - 1)).
    fn state(&self) -> u64 {
        self.v_heads * self.k_dim * self.v_dim + self.conv_dim() * (self.conv_kernel - 1)
    }

    /// Parameters of one layer at width `d`.
    fn params(&self, d: u64) -> u64 {
        let in_qkvz = d * (2 * self.key_dim() + 2 * self.value_dim());
        let in_ba = d * 2 * self.v_heads;
        let conv = self.conv_dim() * self.conv_kernel;
        let small = 2 * self.v_heads + self.v_dim; // dt_bias, A_log, gated norm
        let out = self.value_dim() * d;
        in_qkvz + in_ba + conv + small + out
    }
}

fn qwen3_next(f: &Fields) -> Result<Model, CatalogError> {
    let c = common(f)?;
    let Common {
        d,
        layers: n,
        heads,
        kv_heads,
        head_dim: hd,
        vocab,
        ..
    } = c;
    let interval = f.opt_u64("full_attention_interval")?.unwrap_or(4);
    let kinds = layer_kinds(f, n, move |i| {
        if (i + 1) % interval == 0 {
            "full_attention"
        } else {
            "linear_attention"
        }
    })?;
    let linear = DeltaNet::read(f)?;

    let e = f.u64("num_experts")?;
    let k = f.u64("num_experts_per_tok")?;
    check_topk(f, e, k)?;
    let mi = f.u64("moe_intermediate_size")?;
    let shared = f.opt_u64("shared_expert_intermediate_size")?.unwrap_or(0);
    let tied = f.bool_or("tie_word_embeddings", false)?;

    let mut cnt = Counter::new();
    cnt.embed(vocab * d * if tied { 1 } else { 2 });
    cnt.dense(d);
    let mut layout = Vec::with_capacity(n as usize);
    for kind in &kinds {
        match kind.as_str() {
            "full_attention" => {
                // q_proj also produces the output gate: 2 x heads x head_dim.
                cnt.dense(d * 2 * heads * hd + 2 * d * kv_heads * hd + heads * hd * d + 2 * hd);
                layout.push(full_layer(heads, kv_heads, hd));
            }
            "linear_attention" => {
                cnt.dense(linear.params(d));
                layout.push(Layer {
                    attention: Attention::Linear {
                        state_elements: linear.state(),
                    },
                    q_heads: linear.v_heads,
                });
            }
            other => {
                return Err(f.bad(
                    "layer_types",
                    format!("\"{other}\" layers are not part of qwen3_next"),
                ))
            }
        }
        cnt.dense(2 * d + d * e);
        if shared > 0 {
            cnt.dense(3 * d * shared + d);
        }
        cnt.routed(e, k, 3 * d * mi);
    }
    let dtype = native_dtype(f, Dtype::Bf16)?;
    Ok(model(
        "qwen3_next",
        &c,
        layout,
        cnt,
        (e, k, n),
        WeightFormat::Uniform { dtype },
    ))
}

/// DeepSeek-V2/V3: multi-head latent attention, dense first layers, then routed + shared experts.
/// The multi-token-prediction module (`num_nextn_predict_layers`) is not part of the main model and
/// not counted, as in DeepSeek's own 671B figure.
fn deepseek(f: &Fields, family: &str) -> Result<Model, CatalogError> {
    let c = common_mla(f)?;
    let d = c.d;
    let n = c.layers;
    let heads = c.heads;
    let q_lora = f.opt_u64("q_lora_rank")?;
    let kv_lora = f.u64("kv_lora_rank")?;
    let rope = f.u64("qk_rope_head_dim")?;
    let nope = f.u64("qk_nope_head_dim")?;
    let v_dim = f.u64("v_head_dim")?;
    let inter = f.u64("intermediate_size")?;
    let mi = f.u64("moe_intermediate_size")?;
    let e = f.u64("n_routed_experts")?;
    let shared = f.opt_u64_zero("n_shared_experts")?.unwrap_or(0);
    let k = f.u64("num_experts_per_tok")?;
    check_topk(f, e, k)?;
    let first_dense = f.opt_u64_zero("first_k_dense_replace")?.unwrap_or(0);
    let freq = f.opt_u64("moe_layer_freq")?.unwrap_or(1);
    let tied = f.bool_or("tie_word_embeddings", false)?;
    let score_bias = family == "deepseek_v3" || family == "kimi_k2";

    let mut cnt = Counter::new();
    cnt.embed(c.vocab * d * if tied { 1 } else { 2 });
    cnt.dense(d);
    let q = match q_lora {
        Some(r) => d * r + r + r * heads * (nope + rope),
        None => d * heads * (nope + rope),
    };
    let attn =
        q + d * (kv_lora + rope) + kv_lora + kv_lora * heads * (nope + v_dim) + heads * v_dim * d;
    let mut moe_layers = 0;
    for l in 0..n {
        cnt.dense(attn + 2 * d);
        if l >= first_dense && l % freq == 0 {
            moe_layers += 1;
            cnt.dense(e * d + if score_bias { e } else { 0 });
            cnt.dense(shared * 3 * d * mi);
            cnt.routed(e, k, 3 * d * mi);
        } else {
            cnt.dense(3 * d * inter);
        }
    }
    let layer = Layer {
        attention: Attention::Mla {
            kv_lora_rank: kv_lora,
            rope_dim: rope,
        },
        q_heads: heads,
    };
    // DeepSeek-V3 ships FP8 (e4m3, 128x128 block scales) weights, embeddings and head in bf16:
    // quantization_config.quant_method.
    same_layers(f, family, &c, layer, cnt, (e, k, moe_layers))
}

fn common_mla(f: &Fields) -> Result<Common, CatalogError> {
    let d = f.u64("hidden_size")?;
    let layers = f.u64("num_hidden_layers")?;
    let heads = f.u64("num_attention_heads")?;
    Ok(Common {
        d,
        layers,
        heads,
        kv_heads: 1,
        head_dim: 0,
        vocab: f.u64("vocab_size")?,
        max_pos: f.u64("max_position_embeddings")?,
    })
}

/// gpt-oss: alternating banded (sliding, 128) and full attention with biases and sinks; MoE experts
/// with biases; MXFP4 experts in the published checkpoint.
fn gpt_oss(f: &Fields) -> Result<Model, CatalogError> {
    let c = common(f)?;
    let Common {
        d,
        layers: n,
        heads,
        kv_heads,
        head_dim: hd,
        vocab,
        ..
    } = c;
    let e = f.u64_any(&["num_local_experts", "num_experts"])?;
    let k = f.u64_any(&["num_experts_per_tok", "experts_per_token"])?;
    check_topk(f, e, k)?;
    let i = f.u64("intermediate_size")?;
    let window = f.opt_u64("sliding_window")?;
    let tied = f.bool_or("tie_word_embeddings", false)?;
    let kinds = layer_kinds(f, n, |l| {
        if l % 2 == 0 {
            "sliding_attention"
        } else {
            "full_attention"
        }
    })?;
    let mut cnt = Counter::new();
    cnt.embed(vocab * d * if tied { 1 } else { 2 });
    cnt.dense(d);
    let attn = (d * heads * hd + heads * hd)
        + 2 * (d * kv_heads * hd + kv_heads * hd)
        + (heads * hd * d + d)
        + heads;
    let expert = (d * 2 * i + 2 * i) + (i * d + d);
    let mut layout = Vec::with_capacity(n as usize);
    for kind in &kinds {
        cnt.dense(attn + 2 * d + (d * e + e));
        cnt.routed(e, k, expert);
        let attention = match kind.as_str() {
            "sliding_attention" => Attention::Sliding {
                kv_heads,
                k_dim: hd,
                v_dim: hd,
                window: window.ok_or_else(|| {
                    f.contradiction(
                        "`layer_types` has sliding layers but `sliding_window` is not set",
                    )
                })?,
            },
            "full_attention" => Attention::Full {
                kv_heads,
                k_dim: hd,
                v_dim: hd,
            },
            other => {
                return Err(f.bad(
                    "layer_types",
                    format!("\"{other}\" layers are not part of gpt_oss"),
                ))
            }
        };
        layout.push(Layer {
            attention,
            q_heads: heads,
        });
    }
    let rest = native_dtype(f, Dtype::Bf16)?;
    let quant = f
        .sub("quantization_config")
        .and_then(|q| q.opt_str("quant_method").ok().flatten())
        .or(f.opt_str("quant_method")?);
    let weights = match quant {
        Some("mxfp4") => WeightFormat::Split {
            experts: Dtype::Mxfp4,
            rest,
        },
        _ => WeightFormat::Uniform { dtype: rest },
    };
    Ok(model("gpt_oss", &c, layout, cnt, (e, k, n), weights))
}
