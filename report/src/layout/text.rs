//! Text placed on a figure: its box, and fitting it to the room there is.

use crate::font;
use crate::math_text::{self, Align, Placement};

use super::Rect;

/// A piece of text and where it goes.
#[derive(Debug, Clone, PartialEq)]
pub struct TextLine {
    /// The text, with [`math_text`] markup.
    pub text: String,
    /// Where.
    pub at: Placement,
    /// Pixels per em.
    pub em: f64,
    /// Bold.
    pub bold: bool,
}

impl TextLine {
    pub(crate) fn new(text: &str, at: Placement, em: f64, bold: bool) -> Self {
        Self {
            text: text.to_string(),
            at,
            em,
            bold,
        }
    }

    /// The box the text's glyphs may cover (ascent to descent, subscripts included).
    pub fn bounds(&self) -> Rect {
        let (ascent, descent) = font::extent_per_em();
        let len = math_text::width(&self.text, self.em, self.bold);
        let start = match self.at.align {
            Align::Start => 0.0,
            Align::Center => -len / 2.0,
            Align::End => -len,
        };
        let (above, below) = (ascent * self.em, (descent + 0.1) * self.em);
        if self.at.vertical {
            Rect {
                x: self.at.x - above,
                y: self.at.y - start - len,
                w: above + below,
                h: len,
            }
        } else {
            Rect {
                x: self.at.x + start,
                y: self.at.y - above,
                w: len,
                h: above + below,
            }
        }
    }
}

/// The em of `text` at `em`, shrunk (to no less than 70 %) to fit `width`.
pub(crate) fn fitted_em(text: &str, em: f64, bold: bool, width: f64) -> f64 {
    let w = math_text::width(text, em, bold);
    if w <= width || w == 0.0 {
        em
    } else {
        (em * width / w).max(0.7 * em)
    }
}

/// `text` broken at spaces into lines no wider than `width` (a word wider than it gets a
/// line of its own).
pub(crate) fn wrap(text: &str, em: f64, width: f64) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if !line.is_empty() && math_text::width(&candidate, em, false) > width {
            lines.push(std::mem::replace(&mut line, word.to_string()));
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}
