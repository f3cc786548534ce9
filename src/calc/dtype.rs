//! Number formats for weights and the KV cache, and the exact byte count of N elements in each.

use serde::Serialize;
use std::fmt;

/// A storage format. Sizes are exact: int4 is half a byte, MXFP4 is 4 bits per value plus one
/// 8-bit scale per block of 32 values (4.25 bits), as in the OCP Microscaling (MX) v1.0 specification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    Fp32,
    Fp16,
    Bf16,
    Fp8,
    Int8,
    Int4,
    Mxfp4,
}

impl Dtype {
    /// The formats a KV cache can be stored in (vLLM's `--kv-cache-dtype` offers fp8; int8/int4 are
    /// the quantized caches of other engines). MXFP4 is a weight format only.
    pub const KV: [Dtype; 6] = [
        Dtype::Fp32,
        Dtype::Fp16,
        Dtype::Bf16,
        Dtype::Fp8,
        Dtype::Int8,
        Dtype::Int4,
    ];
    pub const ALL: [Dtype; 7] = [
        Dtype::Fp32,
        Dtype::Fp16,
        Dtype::Bf16,
        Dtype::Fp8,
        Dtype::Int8,
        Dtype::Int4,
        Dtype::Mxfp4,
    ];

    /// Storage cost in eighths of a bit per element (so MXFP4's 4.25 bits stays an integer).
    pub fn eighth_bits(self) -> u128 {
        match self {
            Dtype::Fp32 => 256,
            Dtype::Fp16 | Dtype::Bf16 => 128,
            Dtype::Fp8 | Dtype::Int8 => 64,
            Dtype::Int4 => 32,
            Dtype::Mxfp4 => 34,
        }
    }

    /// Bytes needed for `elements` values, rounded up to a whole byte.
    pub fn bytes(self, elements: u128) -> u128 {
        (elements * self.eighth_bits()).div_ceil(64)
    }

    pub fn name(self) -> &'static str {
        match self {
            Dtype::Fp32 => "fp32",
            Dtype::Fp16 => "fp16",
            Dtype::Bf16 => "bf16",
            Dtype::Fp8 => "fp8",
            Dtype::Int8 => "int8",
            Dtype::Int4 => "int4",
            Dtype::Mxfp4 => "mxfp4",
        }
    }

    /// The size of one element as people write it in a formula: "2 B", "0.5 B", "4.25 bit".
    pub fn size_label(self) -> &'static str {
        match self {
            Dtype::Fp32 => "4 B",
            Dtype::Fp16 | Dtype::Bf16 => "2 B",
            Dtype::Fp8 | Dtype::Int8 => "1 B",
            Dtype::Int4 => "0.5 B",
            Dtype::Mxfp4 => "0.53125 B",
        }
    }

    /// Parses the names used on the command line and in Hugging Face configs (`torch_dtype`).
    pub fn parse(s: &str) -> Option<Dtype> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "fp32" | "float32" | "f32" | "float" => Dtype::Fp32,
            "fp16" | "float16" | "f16" | "half" => Dtype::Fp16,
            "bf16" | "bfloat16" => Dtype::Bf16,
            "fp8" | "fp8_e4m3" | "float8_e4m3fn" | "fp8_e5m2" | "e4m3" => Dtype::Fp8,
            "int8" | "i8" => Dtype::Int8,
            "int4" | "i4" => Dtype::Int4,
            "mxfp4" => Dtype::Mxfp4,
            _ => return None,
        })
    }

    /// The next KV format in the cycle the `D` key walks through.
    pub fn next_kv(self) -> Dtype {
        let i = Dtype::KV.iter().position(|d| *d == self).unwrap_or(0);
        Dtype::KV[(i + 1) % Dtype::KV.len()]
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_exact() {
        assert_eq!(Dtype::Fp32.bytes(3), 12);
        assert_eq!(Dtype::Bf16.bytes(3), 6);
        assert_eq!(Dtype::Fp8.bytes(3), 3);
        assert_eq!(Dtype::Int4.bytes(4), 2);
        assert_eq!(Dtype::Int4.bytes(3), 2, "a half byte rounds up");
        // 32 MXFP4 values: 16 bytes of nibbles + 1 scale byte.
        assert_eq!(Dtype::Mxfp4.bytes(32), 17);
    }

    #[test]
    fn parses_config_names() {
        assert_eq!(Dtype::parse("bfloat16"), Some(Dtype::Bf16));
        assert_eq!(Dtype::parse("FP16"), Some(Dtype::Fp16));
        assert_eq!(Dtype::parse("int3"), None);
        assert_eq!(Dtype::Int4.next_kv(), Dtype::Fp32);
    }
}
