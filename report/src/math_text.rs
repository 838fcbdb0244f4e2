//! Labels with subscripts and superscripts, as a paper sets them: `t_{w}` is t with a
//! subscript w, `λ^{(1)}` is λ with a superscript (1). Plotters has no TeX, and Unicode has
//! subscripts for only some letters (none for w), so the marked parts are drawn smaller and
//! lowered or raised. The markup needs its braces: a lone `_` is a character (optimiser names
//! such as `adam_lr3` pass through), and the CSVs get [`plain`] text.

use plotters::coord::Shift as AreaShift;
use plotters::prelude::*;
use plotters::style::{FontDesc, FontFamily, FontTransform};

use crate::font::{self, FAMILY};
use crate::page::TextBackend;

/// Size of a subscript or superscript relative to the text it follows.
const SCRIPT_SIZE: f64 = 0.7;
/// How far a subscript's baseline drops, in ems of the text it follows.
const SUB_DROP: f64 = 0.22;
/// How far a superscript's baseline rises, in ems of the text it follows.
const SUP_RISE: f64 = 0.38;

/// Where a run of text sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    /// On the baseline.
    Base,
    /// Lowered, smaller.
    Sub,
    /// Raised, smaller.
    Sup,
}

/// A run of text in one position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run<'a> {
    /// The characters.
    pub text: &'a str,
    /// Their position.
    pub script: Script,
}

/// The runs of `label`: `_{…}` and `^{…}` are subscripts and superscripts (not nested); an
/// unclosed brace leaves the rest as it is.
pub fn runs(label: &str) -> Vec<Run<'_>> {
    let mut out = Vec::new();
    let mut rest = label;
    while !rest.is_empty() {
        let next = [("_{", Script::Sub), ("^{", Script::Sup)]
            .into_iter()
            .filter_map(|(mark, script)| rest.find(mark).map(|i| (i, script)))
            .min_by_key(|&(i, _)| i);
        let Some((start, script)) = next else {
            out.push(Run {
                text: rest,
                script: Script::Base,
            });
            break;
        };
        let Some(len) = rest[start + 2..].find('}') else {
            out.push(Run {
                text: rest,
                script: Script::Base,
            });
            break;
        };
        if start > 0 {
            out.push(Run {
                text: &rest[..start],
                script: Script::Base,
            });
        }
        out.push(Run {
            text: &rest[start + 2..start + 2 + len],
            script,
        });
        rest = &rest[start + 3 + len..];
    }
    out
}

/// `label` as plain text for CSVs and alt texts: `t_{w}` → `t_w`, `x^{2}` → `x^2`.
pub fn plain(label: &str) -> String {
    runs(label)
        .iter()
        .map(|r| match r.script {
            Script::Base => r.text.to_string(),
            Script::Sub => format!("_{}", r.text),
            Script::Sup => format!("^{}", r.text),
        })
        .collect()
}

/// The em of a run set after text of `em` pixels, and how far its baseline drops (negative:
/// rises).
fn metrics(script: Script, em: f64) -> (f64, f64) {
    match script {
        Script::Base => (em, 0.0),
        Script::Sub => (em * SCRIPT_SIZE, em * SUB_DROP),
        Script::Sup => (em * SCRIPT_SIZE, -em * SUP_RISE),
    }
}

/// The width of `label` set at `em` pixels.
pub fn width(label: &str, em: f64, bold: bool) -> f64 {
    runs(label)
        .iter()
        .map(|r| font::advance(r.text, metrics(r.script, em).0, bold))
        .sum()
}

/// Where a label is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    /// Horizontal: x of the left end, centre or right end (`align`); vertical: x of the
    /// baseline.
    pub x: f64,
    /// Horizontal: y of the baseline; vertical: y of the bottom end, centre or top end.
    pub y: f64,
    /// Which point of the label (x, y) is.
    pub align: Align,
    /// Rotated to read upwards (a vertical axis label).
    pub vertical: bool,
}

/// Which end of a label a [`Placement`] gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// The start.
    Start,
    /// The middle.
    Center,
    /// The end.
    End,
}

/// The look of a label.
#[derive(Debug, Clone, Copy)]
pub struct Look {
    /// Pixels per em.
    pub em: f64,
    /// Bold.
    pub bold: bool,
    /// Colour.
    pub color: RGBColor,
}

/// Draws `label` on `area` (pixel coordinates of the area) with its scripts in place.
pub fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, AreaShift>,
    label: &str,
    at: Placement,
    look: Look,
    backend: TextBackend,
) -> Result<(), String> {
    let total = width(label, look.em, look.bold);
    let start = match at.align {
        Align::Start => 0.0,
        Align::Center => -total / 2.0,
        Align::End => -total,
    };
    let mut along = start;
    for run in runs(label) {
        let (em, drop) = metrics(run.script, look.em);
        // The style at construction: `FontDesc::style` changes the name but keeps the glyphs.
        let weight = if look.bold {
            FontStyle::Bold
        } else {
            FontStyle::Normal
        };
        let font = FontDesc::new(FontFamily::from(FAMILY), backend.size(em), weight);
        let mut style = TextStyle::from(font).color(&look.color);
        // Plotters anchors text at its top; its baseline is `baseline_per_em` below.
        let across = drop - backend.baseline_per_em * em;
        let pos = if at.vertical {
            style = style.transform(FontTransform::Rotate270);
            (at.x + across, at.y - along)
        } else {
            (at.x + along, at.y + across)
        };
        // A run's leading spaces become an offset: an SVG viewer drops them from a text.
        let text = run.text.trim_start();
        let lead = font::advance(&run.text[..run.text.len() - text.len()], em, look.bold);
        let pos = if at.vertical {
            (pos.0, pos.1 - lead)
        } else {
            (pos.0 + lead, pos.1)
        };
        area.draw(&Text::new(
            text.to_string(),
            (pos.0.round() as i32, pos.1.round() as i32),
            style,
        ))
        .map_err(|e| e.to_string())?;
        along += font::advance(run.text, em, look.bold);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braces_mark_scripts_and_plain_text_keeps_them_readable() {
        let r = runs("Δ_{w}(t_{w}, t_{w} + t)");
        assert_eq!(
            r.iter().map(|r| (r.text, r.script)).collect::<Vec<_>>(),
            vec![
                ("Δ", Script::Base),
                ("w", Script::Sub),
                ("(t", Script::Base),
                ("w", Script::Sub),
                (", t", Script::Base),
                ("w", Script::Sub),
                (" + t)", Script::Base),
            ]
        );
        assert_eq!(
            plain("|v_{i}(t_{final})·v_{i}(t)|"),
            "|v_i(t_final)·v_i(t)|"
        );
        assert_eq!(plain("λ^{(1)}"), "λ^(1)");
        // Names with underscores and unclosed braces are text.
        assert_eq!(plain("adam_lr3"), "adam_lr3");
        assert_eq!(runs("a_{b").len(), 1);
        // A subscript is narrower than the same letter on the baseline.
        assert!(width("t_{w}", 10.0, false) < width("tw", 10.0, false));
    }

    #[test]
    fn a_subscript_is_drawn_lower_and_smaller_than_its_base() {
        crate::font::register();
        let (w, h) = (200u32, 120u32);
        let ink_rows = |label: &str| {
            let mut buf = vec![255u8; (w * h * 3) as usize];
            {
                let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
                let at = Placement {
                    x: 10.0,
                    y: 80.0,
                    align: Align::Start,
                    vertical: false,
                };
                let look = Look {
                    em: 50.0,
                    bold: false,
                    color: BLACK,
                };
                draw(&root, label, at, look, TextBackend::bitmap()).unwrap();
                root.present().unwrap();
            }
            let inked = |y: u32| (0..w).any(|x| buf[((y * w + x) * 3) as usize] < 128);
            let rows: Vec<u32> = (0..h).filter(|&y| inked(y)).collect();
            (rows[0], *rows.last().unwrap())
        };
        // "x" sits on the baseline (y = 80) and reaches its x-height, 0.547 em = 27 px,
        // above it: the em asked for is the em drawn.
        let (top, bottom) = ink_rows("x");
        assert!((79..=81).contains(&bottom), "{top}..{bottom}");
        assert!((25..=30).contains(&(80 - top)), "{top}..{bottom}");
        // The subscript reaches below the baseline by its drop, 0.22 em = 11 px.
        let (_, bottom) = ink_rows("x_{x}");
        assert!((89..=93).contains(&bottom), "{bottom}");
    }
}
