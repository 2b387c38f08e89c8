//! Server-side SVG: the module graph and line plots. Drawn here rather
//! than by a script so the pages need no chart library (no CDN under the
//! CSP) and read the same without JavaScript. Only presentation
//! attributes and classes are used: the CSP forbids inline style.

use super::html::esc;

/// Line colours, in order; distinguishable on white and in grey.
const PALETTE: &[&str] = &[
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
];

/// One arrow of the graph.
pub struct Edge {
    pub source: String,
    pub target: String,
    /// Drawn at the arrow's middle (count, latency, cost).
    pub label: String,
    /// Where the arrow links to (the pair's conversations).
    pub href: String,
    /// Some of its queries failed: drawn in red.
    pub failed: bool,
}

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 560.0;
const NODE_R: f64 = 40.0;

/// Modules on a circle, an arrow from asker to asked for each pair (bent
/// so that a→b and b→a do not overlap), each arrow a link.
pub fn graph(modules: &[String], edges: &[Edge]) -> String {
    let (cx, cy, r) = (WIDTH / 2.0, HEIGHT / 2.0, HEIGHT / 2.0 - NODE_R - 30.0);
    let n = modules.len().max(1) as f64;
    let at = |name: &str| -> (f64, f64) {
        let i = modules.iter().position(|m| m == name).unwrap_or(0) as f64;
        if modules.len() == 1 {
            return (cx, cy);
        }
        let angle = -std::f64::consts::FRAC_PI_2 + i * 2.0 * std::f64::consts::PI / n;
        (cx + r * angle.cos(), cy + r * angle.sin())
    };
    let mut out = format!(
        r##"<svg class="graph" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="Module graph">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>"##
    );
    for e in edges.iter().filter(|e| e.source != e.target) {
        let ((x1, y1), (x2, y2)) = (at(&e.source), at(&e.target));
        let (dx, dy) = (x2 - x1, y2 - y1);
        let len = (dx * dx + dy * dy).sqrt().max(1.0);
        let (ux, uy) = (dx / len, dy / len);
        // Start and end on the circles' rims; bend to the right of travel.
        let (sx, sy) = (x1 + ux * NODE_R, y1 + uy * NODE_R);
        let (ex, ey) = (x2 - ux * (NODE_R + 4.0), y2 - uy * (NODE_R + 4.0));
        let bend = 36.0;
        let (qx, qy) = ((sx + ex) / 2.0 - uy * bend, (sy + ey) / 2.0 + ux * bend);
        let (lx, ly) = (
            0.25 * sx + 0.5 * qx + 0.25 * ex,
            0.25 * sy + 0.5 * qy + 0.25 * ey,
        );
        let colour = if e.failed { "#c62828" } else { "#555" };
        out.push_str(&format!(
            r#"<a href="{href}" class="edge" data-pair="{source}->{target}"><title>{source} asks {target}: {label}</title><path d="M{sx:.1},{sy:.1} Q{qx:.1},{qy:.1} {ex:.1},{ey:.1}" fill="none" stroke="{colour}" stroke-width="2" marker-end="url(#arrow)"/><text x="{lx:.1}" y="{ly:.1}" text-anchor="middle" class="edge-label">{label}</text></a>"#,
            href = esc(&e.href),
            source = esc(&e.source),
            target = esc(&e.target),
            label = esc(&e.label),
        ));
    }
    for m in modules {
        let (x, y) = at(m);
        out.push_str(&format!(
            r##"<g class="node" data-module="{name}"><circle cx="{x:.1}" cy="{y:.1}" r="{NODE_R}" fill="#e8eef7" stroke="#1f4e8c" stroke-width="2"/><text x="{x:.1}" y="{ty:.1}" text-anchor="middle" class="node-label">{name}</text></g>"##,
            name = esc(m),
            ty = y + 5.0,
        ));
    }
    out.push_str("</svg>");
    out
}

/// A line plot of `series` (name, one value per bucket) over buckets
/// labelled `x_labels`, with its y axis in `unit`.
pub fn line_plot(
    label: &str,
    series: &[(String, Vec<f64>)],
    x_labels: &[String],
    unit: &str,
) -> String {
    let (w, h, left, right, top, bottom) = (760.0, 280.0, 70.0, 20.0, 20.0, 40.0);
    let buckets = x_labels.len().max(2);
    let max = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .fold(0.0_f64, f64::max);
    let max = if max > 0.0 { max } else { 1.0 };
    let x = |i: usize| left + (w - left - right) * i as f64 / (buckets - 1) as f64;
    let y = |v: f64| top + (h - top - bottom) * (1.0 - v / max);
    let mut out = format!(
        r#"<svg class="plot" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" aria-label="{}">"#,
        esc(label)
    );
    // Axes and three gridlines with their values.
    for step in 0..=2 {
        let v = max * step as f64 / 2.0;
        out.push_str(&format!(
            r##"<line x1="{left}" x2="{x2}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{tx}" y="{ty:.1}" text-anchor="end" class="axis">{value}</text>"##,
            x2 = w - right,
            y = y(v),
            tx = left - 6.0,
            ty = y(v) + 4.0,
            value = esc(&format_value(v, unit)),
        ));
    }
    let every = (x_labels.len() / 8).max(1);
    for (i, text) in x_labels.iter().enumerate().filter(|(i, _)| i % every == 0) {
        out.push_str(&format!(
            r#"<text x="{x:.1}" y="{ty}" text-anchor="middle" class="axis">{}</text>"#,
            esc(text),
            x = x(i),
            ty = h - bottom + 18.0,
        ));
    }
    for (k, (name, values)) in series.iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        out.push_str(&format!(
            r#"<polyline data-series="{}" fill="none" stroke="{colour}" stroke-width="2" points="{}"><title>{}</title></polyline>"#,
            esc(name),
            points.join(" "),
            esc(name),
        ));
    }
    out.push_str("</svg>");
    // The legend is HTML (wraps, reads to a screen reader).
    out.push_str(r#"<ul class="legend">"#);
    for (k, (name, values)) in series.iter().enumerate() {
        let total: f64 = values.iter().sum();
        out.push_str(&format!(
            r#"<li><svg class="swatch" viewBox="0 0 10 10" aria-hidden="true"><rect width="10" height="10" fill="{}"/></svg>{} ({})</li>"#,
            PALETTE[k % PALETTE.len()],
            esc(name),
            esc(&format_value(total, unit)),
        ));
    }
    out.push_str("</ul>");
    out
}

fn format_value(v: f64, unit: &str) -> String {
    match unit {
        "$" => format!("${v:.4}"),
        _ => format!("{v:.0} {unit}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_graph_links_each_pair_and_escapes_names() {
        let modules = vec!["a<b".to_string(), "c".to_string()];
        let svg = graph(
            &modules,
            &[Edge {
                source: "a<b".into(),
                target: "c".into(),
                label: "3 q".into(),
                href: "/console/conversations?source=a%3Cb&target=c".into(),
                failed: false,
            }],
        );
        assert!(svg.contains(r#"data-pair="a&lt;b->c""#), "{svg}");
        assert!(svg.contains(">3 q</text>"));
        assert!(!svg.contains("a<b"), "names are escaped");
    }

    #[test]
    fn a_plot_has_a_line_per_series_and_totals_in_the_legend() {
        let svg = line_plot(
            "cost",
            &[("a->b".into(), vec![0.0, 1.5, 0.5])],
            &["1".into(), "2".into(), "3".into()],
            "$",
        );
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert!(svg.contains("a-&gt;b ($2.0000)"), "{svg}");
    }
}
