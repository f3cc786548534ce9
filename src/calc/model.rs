//! A model as the calculator sees it: the attention layout of every layer and the parameter counts,
//! read from the model's config (never from its name). Built by `catalog::hf`; holds no GPU types.

use super::dtype::Dtype;
use serde::Serialize;

/// What one layer keeps per sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Attention {
    /// Full attention: K and V for every token (`k_dim`/`v_dim` are the head sizes).
    Full {
        kv_heads: u64,
        k_dim: u64,
        v_dim: u64,
    },
    /// Sliding-window attention: K and V for the last `window` tokens only.
    Sliding {
        kv_heads: u64,
        k_dim: u64,
        v_dim: u64,
        window: u64,
    },
    /// Chunked local attention (Llama 4's RoPE layers): each token attends to the tokens of its own
    /// `chunk`-token chunk, so a layer holds between 1 and `chunk` tokens of a sequence.
    Chunked {
        kv_heads: u64,
        k_dim: u64,
        v_dim: u64,
        chunk: u64,
    },
    /// Multi-head latent attention (DeepSeek-V2/V3): one compressed latent plus the decoupled RoPE key
    /// per token, shared by all heads.
    Mla { kv_lora_rank: u64, rope_dim: u64 },
    /// Linear attention (e.g. Gated DeltaNet): a fixed-size state per sequence, no per-token cache.
    Linear { state_elements: u64 },
}

impl Attention {
    /// KV elements stored per cached token.
    pub fn elements_per_token(&self) -> u64 {
        match *self {
            Attention::Full {
                kv_heads,
                k_dim,
                v_dim,
            }
            | Attention::Sliding {
                kv_heads,
                k_dim,
                v_dim,
                ..
            }
            | Attention::Chunked {
                kv_heads,
                k_dim,
                v_dim,
                ..
            } => kv_heads * (k_dim + v_dim),
            Attention::Mla {
                kv_lora_rank,
                rope_dim,
            } => kv_lora_rank + rope_dim,
            Attention::Linear { .. } => 0,
        }
    }

    /// How many of a sequence's `n` tokens this layer holds.
    pub fn stored_tokens(&self, n: u64) -> u64 {
        match *self {
            Attention::Sliding { window, .. } => n.min(window),
            Attention::Chunked { chunk, .. } => {
                if n == 0 {
                    0
                } else {
                    (n - 1) % chunk.max(1) + 1
                }
            }
            Attention::Linear { .. } => 0,
            _ => n,
        }
    }

    /// Whole `block`-token pages this layer holds for a sequence of `n` tokens. A sliding window
    /// frees pages that fall wholly outside it, so it can straddle one more page than it fills
    /// (as vLLM's sliding-window manager does).
    pub fn pages(&self, n: u64, block: u64) -> u64 {
        match *self {
            Attention::Linear { .. } => 0,
            Attention::Sliding { window, .. } => {
                let first = n.saturating_sub(window);
                n.div_ceil(block) - first / block
            }
            Attention::Chunked { chunk, .. } => {
                // the pages from the current chunk's first token on
                let first = if n == 0 {
                    0
                } else {
                    (n - 1) / chunk.max(1) * chunk.max(1)
                };
                n.div_ceil(block) - first / block
            }
            _ => n.div_ceil(block),
        }
    }

    /// Elements of state a sequence holds however long it is (linear attention).
    pub fn fixed_elements(&self) -> u64 {
        match *self {
            Attention::Linear { state_elements } => state_elements,
            _ => 0,
        }
    }
}

/// One decoder layer: its attention kind and its number of query heads (which sizes the
/// attention-score matrix a non-flash kernel materialises).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Layer {
    pub attention: Attention,
    pub q_heads: u64,
}

/// Parameter counts derived from the weight shapes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Params {
    /// Every parameter that is resident in memory (all experts of an MoE).
    pub total: u64,
    /// Parameters used for one token (MoE: the routed top-k plus shared experts and everything else).
    pub active: u64,
    /// Parameters of the routed experts (all of them); weight formats such as MXFP4 apply to these.
    pub routed_expert: u64,
    /// Routed experts per MoE layer (0 for dense models).
    pub experts: u64,
    /// Experts chosen per token.
    pub experts_per_token: u64,
    /// Number of MoE layers.
    pub moe_layers: u64,
    /// Of `total`: the token embedding and the LM head (counted once when tied). Quantized
    /// checkpoints keep these in 16 bits.
    pub embedding: u64,
    /// Of `total`: a vision tower and projector (multimodal checkpoints), resident but not used
    /// per text token.
    pub vision: u64,
}

impl Params {
    /// Parameters of a single routed expert in a single layer.
    pub fn per_expert(&self) -> u64 {
        if self.experts == 0 || self.moe_layers == 0 {
            0
        } else {
            self.routed_expert / (self.experts * self.moe_layers)
        }
    }
}

/// How the weights are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WeightFormat {
    /// Every parameter in one format.
    Uniform { dtype: Dtype },
    /// Routed-expert parameters in `experts`, everything else in `rest` (gpt-oss ships MXFP4
    /// experts and bf16 attention, router and embeddings).
    Split { experts: Dtype, rest: Dtype },
    /// A quantized checkpoint: the layers' weights in `linear`, the token embedding, the LM head and
    /// any vision tower in `rest` (16-bit), as FP8 and INT8/INT4 checkpoints (DeepSeek-V3's FP8,
    /// compressed-tensors w8a8/w4a16, vLLM's `--quantization fp8`) keep them.
    Quantized { linear: Dtype, rest: Dtype },
}

impl WeightFormat {
    /// The format a `--weight-dtype` asks for: 16 and 32 bits for every parameter; fewer bits for
    /// the layers' weights only, the embeddings staying in bf16.
    pub fn for_dtype(d: Dtype) -> WeightFormat {
        match d {
            Dtype::Fp32 | Dtype::Fp16 | Dtype::Bf16 => WeightFormat::Uniform { dtype: d },
            _ => WeightFormat::Quantized {
                linear: d,
                rest: Dtype::Bf16,
            },
        }
    }

    /// Bytes of `other` parameters (attention, dense MLPs, norms, routers), `experts` routed-expert
    /// parameters and `embedding` embedding, LM-head or vision-tower parameters.
    pub fn bytes_parts(&self, other: u64, experts: u64, embedding: u64) -> u128 {
        match *self {
            WeightFormat::Uniform { dtype } => dtype.bytes((other + experts + embedding) as u128),
            WeightFormat::Split { experts: e, rest } => {
                e.bytes(experts as u128) + rest.bytes((other + embedding) as u128)
            }
            WeightFormat::Quantized { linear, rest } => {
                linear.bytes((other + experts) as u128) + rest.bytes(embedding as u128)
            }
        }
    }

    pub fn bytes(&self, p: &Params) -> u128 {
        let embedding = p.embedding + p.vision;
        self.bytes_parts(
            p.total - p.routed_expert - embedding.min(p.total - p.routed_expert),
            p.routed_expert,
            embedding.min(p.total - p.routed_expert),
        )
    }

    /// The format activations and attention scores are computed in: the weights' own 16/32-bit
    /// format, else bf16 (quantized weights are dequantized to bf16 for the matmuls).
    pub fn compute_dtype(&self) -> Dtype {
        match *self {
            WeightFormat::Uniform {
                dtype: d @ (Dtype::Fp32 | Dtype::Fp16 | Dtype::Bf16),
            } => d,
            WeightFormat::Split {
                rest: d @ (Dtype::Fp32 | Dtype::Fp16 | Dtype::Bf16),
                ..
            }
            | WeightFormat::Quantized {
                rest: d @ (Dtype::Fp32 | Dtype::Fp16 | Dtype::Bf16),
                ..
            } => d,
            _ => Dtype::Bf16,
        }
    }

    /// The dtype the KV cache uses by default ("auto" in vLLM: the model's compute dtype).
    pub fn default_kv_dtype(&self) -> Dtype {
        self.compute_dtype()
    }

    pub fn label(&self) -> String {
        match *self {
            WeightFormat::Uniform { dtype } => dtype.name().to_string(),
            WeightFormat::Split { experts, rest } => format!("{experts} experts + {rest}"),
            WeightFormat::Quantized { linear, rest } => format!("{linear} (embeddings {rest})"),
        }
    }
}

/// A published parameter count, to check the shapes against.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Published {
    pub total: u64,
    pub active: u64,
    pub source: String,
}

/// A model: identity, attention layout per layer, parameters, native formats.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Model {
    pub id: String,
    pub name: String,
    pub hf_repo: Option<String>,
    /// The config's `model_type`.
    pub family: String,
    pub hidden_size: u64,
    pub vocab_size: u64,
    pub layers: Vec<Layer>,
    pub params: Params,
    pub weights: WeightFormat,
    /// `max_position_embeddings` (or `n_positions`).
    pub max_context: u64,
    pub published: Option<Published>,
    pub source: String,
    pub notes: Option<String>,
}

/// Consecutive or scattered layers that share one attention kind, for formulas and fast sums.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct LayerGroup {
    pub attention: Attention,
    pub q_heads: u64,
    pub count: u64,
}

impl Model {
    /// Layers grouped by identical attention, in order of first appearance.
    pub fn layer_groups(&self) -> Vec<LayerGroup> {
        let mut groups: Vec<LayerGroup> = Vec::new();
        for l in &self.layers {
            match groups
                .iter_mut()
                .find(|g| g.attention == l.attention && g.q_heads == l.q_heads)
            {
                Some(g) => g.count += 1,
                None => groups.push(LayerGroup {
                    attention: l.attention,
                    q_heads: l.q_heads,
                    count: 1,
                }),
            }
        }
        groups
    }

    /// KV elements per token summed over all layers, ignoring windows (what a page of one token costs).
    pub fn elements_per_token(&self) -> u64 {
        self.layers
            .iter()
            .map(|l| l.attention.elements_per_token())
            .sum()
    }

    /// Largest number of query heads in any layer that has a score matrix.
    pub fn max_q_heads(&self) -> u64 {
        self.layers
            .iter()
            .filter(|l| !matches!(l.attention, Attention::Linear { .. }))
            .map(|l| l.q_heads)
            .max()
            .unwrap_or(0)
    }

    pub fn is_moe(&self) -> bool {
        self.params.experts > 0
    }

    /// The display name with the parameter count, e.g. "Llama 3.1 70B".
    pub fn display(&self) -> &str {
        &self.name
    }
}
