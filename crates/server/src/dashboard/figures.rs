//! The overview's figures (decisions §32): balances with their USD value,
//! today's and this month's receipts, and a chart of receipts per day and
//! coin drawn by `plotters` as SVG on the server, with a table of the same
//! figures as its text alternative. Amounts arrive exact from the engine
//! and are formatted only here.

use ccgate_engine::console::{CHART_DAYS, Figures, Holdings, USD_PLACES};
use ccgate_ledger::{Amount, Precision};
use maud::{Markup, PreEscaped, html};
use plotters::prelude::*;

use super::pages::merchant_path;

const CHART_SIZE: (u32, u32) = (720, 300);
/// The lines' colours, one per coin in turn: dark enough on white for
/// WCAG's 3:1 for graphics.
const LINE_COLOURS: [RGBColor; 6] = [
    RGBColor(29, 78, 216),
    RGBColor(185, 28, 28),
    RGBColor(21, 128, 61),
    RGBColor(126, 34, 206),
    RGBColor(180, 83, 9),
    RGBColor(15, 118, 110),
];

/// Cents as `1234.50`.
fn usd(cents: Amount) -> String {
    match Precision::new(USD_PLACES) {
        Ok(places) => {
            let text = cents.to_decimal_string(places);
            match text.split_once('.') {
                Some((whole, fraction)) => format!("{whole}.{fraction:0<2}"),
                None => format!("{text}.00"),
            }
        }
        Err(_) => cents.base_units().to_string(),
    }
}

/// A day (days since 1970-01-01, UTC) as `YYYY-MM-DD`.
fn day_text(day: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::OffsetDateTime::from_unix_timestamp(day.saturating_mul(86_400))
        .ok()
        .and_then(|at| at.format(&format).ok())
        .unwrap_or_else(|| day.to_string())
}

fn holdings_table(label: &str, id: &str, holdings: &Holdings<'_>, empty: &str) -> Markup {
    html! {
        @if holdings.coins.is_empty() {
            p #(id) { (empty) }
        } @else {
            div.table tabindex="0" role="region" aria-label=(label) {
                table #(id) {
                    thead { tr { th { "Coin" } th { "Amount" } th { "USD value" } } }
                    tbody {
                        @for valued in &holdings.coins {
                            tr {
                                td { (valued.coin.symbol) }
                                td { (valued.amount.to_decimal_string(valued.coin.precision)) }
                                td { @match valued.usd { Some(cents) => (usd(cents)), None => "no price" } }
                            }
                        }
                    }
                    tfoot {
                        tr {
                            th scope="row" colspan="2" { "Total" @if holdings.unpriced { " (priced coins)" } }
                            td { (usd(holdings.usd)) }
                        }
                    }
                }
            }
        }
    }
}

/// Balances, receipts and the chart, for `app_id`'s overview.
pub fn section(app_id: &str, figures: &Figures<'_>) -> Markup {
    let chart = chart_svg(figures);
    let last_day = figures.first_day + i64::from(figures.days) - 1;
    let summary = format!(
        "Received per day in USD, {} to {}, one line per coin: {}.",
        day_text(figures.first_day),
        day_text(last_day),
        if figures.series.is_empty() {
            "nothing received".to_owned()
        } else {
            figures
                .series
                .iter()
                .map(|series| series.coin.symbol.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    html! {
        h2 { "Balances" }
        (holdings_table("Balances", "balances", &figures.balances, "No balance yet."))
        h2 { "Received today" }
        (holdings_table("Received today", "received-today", &figures.today, "Nothing received today."))
        h2 { "Received this month" }
        (holdings_table("Received this month", "received-month", &figures.month, "Nothing received this month."))
        h2 #chart-title { "Received per day" }
        nav.tabs aria-label="Chart span" {
            @for days in CHART_DAYS {
                @if days == figures.days {
                    span aria-current="true" { (days) " days" }
                } @else {
                    a href={ (merchant_path(app_id, "")) "?days=" (days) } { (days) " days" }
                }
            }
        }
        figure.chart {
            // The drawing is one image to assistive technology; the table
            // below holds its figures.
            div.chart-image role="img" aria-label=(summary) {
                // plotters' SVG: our numbers and labels, which it escapes.
                (PreEscaped(chart))
            }
            figcaption.muted { (summary) " USD values at today's prices; the table below lists them." }
        }
        details #chart-figures {
            summary { "The chart's figures" }
            div.table tabindex="0" role="region" aria-label="Received per day" {
                table {
                    thead {
                        tr {
                            th { "Day" }
                            @for series in &figures.series { th { (series.coin.symbol) } }
                        }
                    }
                    tbody {
                        @for offset in 0..figures.days as usize {
                            @if figures.series.iter().any(|s| s.amounts.get(offset).is_some_and(|a| !a.is_zero())) {
                                tr {
                                    td { (day_text(figures.first_day + offset as i64)) }
                                    @for series in &figures.series {
                                        td {
                                            (series.amounts.get(offset).copied().unwrap_or(Amount::ZERO).to_decimal_string(series.coin.precision))
                                            @if let Some(values) = &series.usd {
                                                " (" (usd(values.get(offset).copied().unwrap_or(Amount::ZERO))) " USD)"
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Cents as a chart coordinate; a value past `i64` is drawn at the top.
fn coordinate(cents: Amount) -> i64 {
    i64::try_from(cents.base_units()).unwrap_or(i64::MAX)
}

/// The chart as an `<svg>` element: a line per priced coin over the days.
fn chart_svg(figures: &Figures<'_>) -> String {
    let mut svg = String::new();
    if let Err(error) = draw(&mut svg, figures) {
        tracing::error!(%error, "the overview's chart failed to draw");
        return String::new();
    }
    svg
}

fn draw(svg: &mut String, figures: &Figures<'_>) -> Result<(), Box<dyn std::error::Error>> {
    let last = i64::from(figures.days) - 1;
    let top = figures
        .series
        .iter()
        .filter_map(|series| series.usd.as_ref())
        .flatten()
        .map(|cents| coordinate(*cents))
        .max()
        .unwrap_or(0)
        // A dollar at least, and a tenth of headroom.
        .max(100)
        .saturating_mul(11)
        / 10;
    let root = SVGBackend::with_string(svg, CHART_SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(72)
        .build_cartesian_2d(0i64..last, 0i64..top)?;
    let first_day = figures.first_day;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(6)
        .y_labels(5)
        .x_label_formatter(&|offset| {
            let day = day_text(first_day + offset);
            // `MM-DD`: the year is in the summary.
            day.get(5..).map_or_else(|| day.clone(), str::to_owned)
        })
        .y_label_formatter(&|cents| format!("{} USD", cents / 100))
        .label_style(("sans-serif", 13))
        .draw()?;
    for (index, series) in figures.series.iter().enumerate() {
        let Some(values) = &series.usd else { continue };
        let colour = LINE_COLOURS[index % LINE_COLOURS.len()];
        let points = values
            .iter()
            .enumerate()
            .map(|(offset, cents)| (offset as i64, coordinate(*cents)));
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))?
            .label(series.coin.symbol.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2))
            });
    }
    if figures.series.iter().any(|series| series.usd.is_some()) {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .draw()?;
    }
    root.present()?;
    Ok(())
}
