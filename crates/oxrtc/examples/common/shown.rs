//! Printing what a peer sent, safely: shared by the examples.

/// Characters of a peer's label or message that are printed.
pub const SHOWN: usize = 64;

/// `text` as it may be printed: control characters escaped (no terminal
/// sequences), and cut to [`SHOWN`] characters with a note of the full
/// length.
pub fn shown(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().take(SHOWN) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    let n = text.chars().count();
    if n > SHOWN {
        out.push_str(&format!("… ({n} characters, {} bytes)", text.len()));
    }
    out
}
