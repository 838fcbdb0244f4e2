//! The layout's promises: shared ranges, text outside the data, sizes from inches and points.

use super::*;
use crate::figure::{Panel, Point, Series, Style};

fn page() -> Page {
    Page {
        width_in: 7.0,
        height_in: None,
        font_pt: 8.0,
        dpi: 300.0,
    }
}

/// Three optimiser panels of one quantity, one ten times the others (Fig. 10's case),
/// with the same legend entries and a note each (Fig. 4's).
fn three_panels() -> Figure {
    let mut fig = Figure::new(
        "Weight displacement Δ_{w}",
        "lag t",
        "Δ_{w}(t_{w}, t_{w} + t)",
    );
    fig.y_scale = Scale::Log;
    for (name, factor) in [("sgd", 1.0), ("adam", 10.0), ("sam", 1.2)] {
        let mut panel = Panel::new(name);
        for (k, w) in [0u32, 10, 100].into_iter().enumerate() {
            let points = (1..=50)
                .map(|t| Point::new(f64::from(t), factor * 1e-4 * f64::from(t + w)))
                .collect();
            panel.series.push(Series::new(
                format!("t_{{w}} = {w}"),
                crate::figure::category_color(k),
                Style::Line,
                points,
            ));
        }
        panel
            .notes
            .push("final (step 600): 0.6265 (min–max 0.6265 – 0.6265)".into());
        fig.panels.push(panel);
    }
    fig
}

#[test]
fn shared_axes_give_every_optimiser_one_range_and_free_ones_their_own() {
    let fig = three_panels();
    let shared = y_ranges(&fig);
    assert!(shared.windows(2).all(|w| w[0] == w[1]), "{shared:?}");
    // The range covers Adam's tenfold values.
    assert!(shared[0].1 >= 10.0 * 1e-4 * 150.0, "{shared:?}");
    let free_fig = Figure {
        shared_y: false,
        ..three_panels()
    };
    let free = y_ranges(&free_fig);
    assert!(
        free[0] != free[1] && free[1].1 > 5.0 * free[0].1,
        "{free:?}"
    );
    // A panel with axes of its own (Fig. 5's final accuracies) keeps its range.
    let mut mixed = three_panels();
    mixed.panels[0].axes = Some(Axes {
        x_label: "seed".into(),
        y_label: "accuracy".into(),
        x_scale: Scale::Linear,
        y_scale: Scale::Linear,
        y_range: Some((0.0, 1.0)),
        integer_x: true,
    });
    let r = y_ranges(&mixed);
    assert_eq!(r[0], (0.0, 1.0));
    assert_eq!(r[1], r[2]);
    // Shared: only the first panel labels the axis; free: each has tick labels.
    let l = FigureLayout::new(&fig, &page());
    assert!(!l.panels[0].y.labels.is_empty() && l.panels[0].y_title.is_some());
    assert!(l.panels[1].y.labels.is_empty() && l.panels[2].y.labels.is_empty());
    assert!(l.panels[1].y_title.is_none());
    let l = FigureLayout::new(&free_fig, &page());
    assert!(l.panels.iter().all(|p| !p.y.labels.is_empty()));
    // Equal data areas either way.
    assert!(l
        .panels
        .windows(2)
        .all(|w| (w[0].plot.w - w[1].plot.w).abs() < 1e-9));
}

#[test]
fn legends_and_notes_sit_outside_every_plot_and_inside_the_figure() {
    let mut differing = three_panels();
    differing.panels[2].series[0].label = "only in sam".into();
    for fig in [three_panels(), differing] {
        for height_in in [None, Some(2.2), Some(1.0)] {
            let page = Page {
                height_in,
                ..page()
            };
            let l = FigureLayout::new(&fig, &page);
            let whole = Rect {
                x: 0.0,
                y: 0.0,
                w: f64::from(l.width),
                h: f64::from(l.height),
            };
            let legends: Vec<&Legend> = l
                .legend
                .iter()
                .chain(l.panels.iter().filter_map(|p| p.legend.as_ref()))
                .collect();
            assert!(!legends.is_empty());
            let mut boxes: Vec<Rect> = legends.iter().map(|g| g.frame).collect();
            boxes.extend(
                legends
                    .iter()
                    .flat_map(|g| g.items.iter().map(|i| i.sample)),
            );
            boxes.extend(l.texts().iter().map(|t| t.bounds()));
            for b in &boxes {
                assert!(whole.contains(b), "{b:?} outside {whole:?}");
                for p in &l.panels {
                    assert!(!p.plot.overlaps(b), "{b:?} covers the plot {:?}", p.plot);
                }
            }
            if let Some(h) = height_in.filter(|&h| h >= 2.0) {
                assert_eq!(l.height, (h * 300.0).round() as u32);
            }
            assert_eq!(l.width, 2100);
        }
    }
    // The same entries in every panel: one legend for the figure; otherwise one each.
    let l = FigureLayout::new(&three_panels(), &page());
    assert!(l.legend.is_some() && l.panels.iter().all(|p| p.legend.is_none()));
    assert_eq!(l.legend.as_ref().unwrap().items.len(), 3);
}

#[test]
fn text_is_set_at_the_asked_size_and_the_page_at_the_asked_width() {
    let fig = three_panels();
    for (font_pt, dpi) in [(8.0, 300.0), (10.0, 150.0)] {
        let page = Page {
            font_pt,
            dpi,
            ..page()
        };
        let l = FigureLayout::new(&fig, &page);
        assert_eq!(l.width, (7.0 * dpi).round() as u32);
        let em = |pt: f64| pt * dpi / 72.0;
        assert!((l.panels[0].x_title.em - em(font_pt)).abs() < 1e-9);
        assert!((l.panels[0].x.labels[0].em - em(font_pt * 7.0 / 8.0)).abs() < 1e-9);
        // A default-height figure of three panels is about a third as tall as wide.
        let ratio = f64::from(l.height) / f64::from(l.width);
        assert!((0.25..0.5).contains(&ratio), "{ratio}");
    }
}
