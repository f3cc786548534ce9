//! Formatting of sizes (binary units, and the output says so) and exact token counts.

/// Formats bytes in binary units with two decimals: `305.18 GiB`. Values under 1 KiB print as bytes.
pub fn bytes(b: u128) -> String {
    const UNITS: [&str; 7] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB"];
    if b < 1024 {
        return format!("{b} B");
    }
    let mut v = b as f64 / 1024.0;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    // 1023.999 GiB must not print as "1024.00 GiB".
    if format!("{v:.2}") == "1024.00" && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    format!("{v:.2} {}", UNITS[i])
}

/// An integer with thousands separators: `1,000,000`.
pub fn count(n: u128) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A parameter count in the way model cards write it: `70.55B`, `124.44M`.
pub fn params(n: u64) -> String {
    let f = n as f64;
    if f >= 1e12 {
        format!("{:.2}T", f / 1e12)
    } else if f >= 1e9 {
        format!("{:.2}B", f / 1e9)
    } else {
        format!("{:.2}M", f / 1e6)
    }
}

/// A context length the short way when it is a round preset (`128K`, `1M`), else exact.
pub fn tokens_short(n: u64) -> String {
    if n >= 1_000_000 && n % 1_000_000 == 0 {
        format!("{}M", n / 1_000_000)
    } else if n >= 1024 && n % 1024 == 0 {
        format!("{}K", n / 1024)
    } else {
        count(n as u128)
    }
}

/// Why a token count does not parse (each one short phrase).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokensError {
    #[error("'{0}' is negative; a token count must be at least 1")]
    Negative(String),
    #[error(
        "'{0}' is not a token count (use digits, or a suffix: 128K = 131,072, 1M = 1,000,000)"
    )]
    NotACount(String),
    #[error("'{0}' is too large")]
    TooLarge(String),
    #[error("'{0}' is zero; a token count must be at least 1")]
    Zero(String),
}

/// Parses a token count: digits (with optional `_` or `,` separators), or a suffix
/// `K` (x 1,024) or `M` (x 1,000,000) as the seed's published tables use them: `128K` = 131,072,
/// `1M` = 1,000,000.
pub fn parse_tokens(s: &str) -> Result<u64, TokensError> {
    let t = s.trim();
    if t.starts_with('-') {
        return Err(TokensError::Negative(s.to_string()));
    }
    let (digits, mult) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], 1024u64),
        Some('m' | 'M') => (&t[..t.len() - 1], 1_000_000u64),
        _ => (t, 1u64),
    };
    let clean: String = digits.chars().filter(|c| *c != '_' && *c != ',').collect();
    if clean.is_empty() || !clean.chars().all(|c| c.is_ascii_digit()) {
        return Err(TokensError::NotACount(s.to_string()));
    }
    let n = clean
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| TokensError::TooLarge(s.to_string()))?;
    if n == 0 {
        return Err(TokensError::Zero(s.to_string()));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_units() {
        assert_eq!(bytes(327_680_000_000), "305.18 GiB");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.50 KiB");
        assert_eq!(bytes(80 << 30), "80.00 GiB");
        assert_eq!(bytes((1 << 40) - 1), "1.00 TiB");
    }

    #[test]
    fn counts_and_suffixes() {
        assert_eq!(count(1_000_000), "1,000,000");
        assert_eq!(count(999), "999");
        assert_eq!(parse_tokens("128K"), Ok(131_072));
        assert_eq!(parse_tokens("1M"), Ok(1_000_000));
        assert_eq!(parse_tokens("100m"), Ok(100_000_000));
        assert_eq!(parse_tokens("4_096"), Ok(4096));
        assert_eq!(parse_tokens("0"), Err(TokensError::Zero("0".into())));
        assert!(parse_tokens("-5").is_err());
        assert!(parse_tokens("1.5M").is_err());
        assert!(parse_tokens("99999999999999999999").is_err());
        assert_eq!(tokens_short(131_072), "128K");
        assert_eq!(tokens_short(2_000_000), "2M");
        assert_eq!(tokens_short(1000), "1,000");
    }
}
