//! Drawing: one pure function per pane, from the [`App`] state to a frame.
//! ratatui redraws only the cells that changed, so a refresh never flickers.

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Clear, Paragraph, Row, Table, TableState, Wrap};

use super::app::{App, Mode};
use crate::cli::when;
use crate::hub::MessageStatus;

/// Width at which output and messages stand side by side.
const SIDE_BY_SIDE_WIDTH: u16 = 120;

/// The whole screen.
pub fn draw(frame: &mut Frame, app: &App) {
    let [header, instances, lower, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Percentage(40),
        Constraint::Min(6),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let direction = if frame.area().width >= SIDE_BY_SIDE_WIDTH {
        Direction::Horizontal
    } else {
        Direction::Vertical
    };
    let [output, messages] = Layout::default()
        .direction(direction)
        .constraints([Constraint::Percentage(50), Constraint::Percentage(50)])
        .areas(lower);
    draw_header(frame, header, app);
    draw_instances(frame, instances, app);
    draw_output(frame, output, app);
    draw_messages(frame, messages, app);
    draw_footer(frame, footer, app);
    if app.mode == Mode::Help {
        draw_help(frame, frame.area());
    }
}

pub fn draw_header(frame: &mut Frame, area: Rect, app: &App) {
    let pending = app
        .snapshot
        .messages
        .iter()
        .filter(|m| m.message.status == MessageStatus::Pending)
        .count();
    let mut spans = vec![
        Span::styled("claude-comms", Style::new().bold()),
        Span::raw(format!(
            "  {} instance(s), {pending} query(ies) in flight",
            app.snapshot.instances.len()
        )),
    ];
    if !app.snapshot.waiting.is_empty() {
        spans.push(Span::styled(
            format!(", {} waiting for your answer", app.snapshot.waiting.len()),
            Style::new().cyan().bold(),
        ));
    }
    match app.snapshot.warnings.as_slice() {
        [] => spans.push(Span::styled("   ? help  q quit", Style::new().dark_gray())),
        // The first one; `claude-comms doctor` lists them all.
        [first, rest @ ..] => spans.push(Span::styled(
            format!(
                "  ⚠ {first}{}",
                if rest.is_empty() {
                    String::new()
                } else {
                    format!(" (+{} more: doctor)", rest.len())
                }
            ),
            Style::new().yellow().bold(),
        )),
    }
    let line = Line::from(spans);
    frame.render_widget(Paragraph::new(line), area);
}

fn state_style(state: &str, alive: bool) -> Style {
    if !alive {
        return Style::new().dark_gray();
    }
    match state {
        "ready" => Style::new().green(),
        "busy" => Style::new().yellow(),
        "starting" | "stopping" => Style::new().cyan(),
        "paused" => Style::new().magenta(),
        "failed" | "crash-loop" => Style::new().red().bold(),
        _ => Style::new(),
    }
}

/// Width from which the instances table also shows the backend and the
/// last error.
const WIDE_INSTANCES: u16 = 110;

pub fn draw_instances(frame: &mut Frame, area: Rect, app: &App) {
    let now = app.snapshot.taken_ms;
    let wide = area.width >= WIDE_INSTANCES;
    let visible = app.visible_instances();
    // In a fleet, which node runs each instance.
    let fleet = visible.iter().any(|v| v.row.node.is_some());
    let id_width = visible
        .iter()
        .map(|v| display_id(&v.row.instance).chars().count())
        .max()
        .unwrap_or(2)
        .max(2) as u16;
    let rows: Vec<Row> = visible
        .iter()
        .map(|v| {
            let i = &v.row.instance;
            let state = if v.row.server_alive {
                i.state.clone()
            } else {
                format!("{} (dead)", i.state)
            };
            let mut cells = vec![Cell::from(display_id(i))];
            if fleet {
                cells.push(Cell::from(v.row.node.clone().unwrap_or_else(|| "-".into())));
            }
            if wide {
                cells.push(Cell::from(short_backend(&i.backend)));
            }
            cells.extend([
                Cell::from(state).style(state_style(&i.state, v.row.server_alive)),
                Cell::from(i.pid.map_or("-".into(), |p| p.to_string())),
                Cell::from(
                    i.started_at
                        .map_or("-".into(), |s| when::span((now - s).max(0) / 1000)),
                ),
                Cell::from(format!(
                    "{}/{}/{}",
                    i.requests_served, i.in_flight, i.queued
                )),
                Cell::from(i.restarts.to_string()),
                Cell::from(v.rss_bytes.map_or("-".into(), when::bytes)),
                Cell::from(i.module_pair.clone().unwrap_or_else(|| "-".into())),
            ]);
            if wide {
                cells.push(
                    Cell::from(i.last_error.clone().unwrap_or_default()).style(Style::new().red()),
                );
            }
            Row::new(cells)
        })
        .collect();
    let mut header = vec!["ID"];
    let mut widths = vec![Constraint::Length(id_width)];
    if fleet {
        header.push("NODE");
        widths.push(Constraint::Length(10));
    }
    if wide {
        header.push("BACKEND");
        widths.push(Constraint::Length(7));
    }
    header.extend(["STATE", "PID", "UP", "SRV/RUN/Q", "RST", "RSS", "PAIR"]);
    widths.extend([
        Constraint::Length(10),
        Constraint::Length(7),
        Constraint::Length(6),
        Constraint::Length(9),
        Constraint::Length(3),
        Constraint::Length(9),
        if wide {
            Constraint::Max(30)
        } else {
            Constraint::Fill(1)
        },
    ]);
    if wide {
        header.push("LAST ERROR");
        widths.push(Constraint::Fill(1));
    }
    let title = if app.filter.is_empty() {
        " Instances ".to_string()
    } else {
        format!(" Instances (filter: {}) ", app.filter)
    };
    let empty = rows.is_empty();
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(Style::new().bold()))
        .block(Block::bordered().title(title))
        .column_spacing(1)
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
        .highlight_symbol("> ");
    let mut state = TableState::default().with_selected((!empty).then_some(app.selected));
    frame.render_stateful_widget(table, area, &mut state);
    if empty {
        let inner = Block::bordered().inner(area);
        let hint = if app.filter.is_empty() {
            "no instances: `claude-comms serve` or a send starts them"
        } else {
            "no instance matches the filter (Esc clears it)"
        };
        let below_header = Rect {
            y: inner.y + 1,
            height: inner.height.saturating_sub(1),
            ..inner
        };
        frame.render_widget(
            Paragraph::new(hint).style(Style::new().dark_gray()),
            below_header,
        );
    }
}

/// A named instance shows its name with its id.
fn display_id(i: &crate::hub::InstanceRecord) -> String {
    match &i.name {
        Some(name) => format!("{name} ({})", i.id),
        None => i.id.clone(),
    }
}

/// `claude-code-mcp` → `mcp`, `claude-stream` → `stream`.
fn short_backend(backend: &str) -> String {
    match backend {
        "claude-code-mcp" => "mcp".into(),
        "claude-stream" => "stream".into(),
        other => other.into(),
    }
}

pub fn draw_output(frame: &mut Frame, area: Rect, app: &App) {
    let title = match &app.followed {
        Some(id) => format!(" Output of {id} "),
        None => " Output (Enter follows the selected instance) ".to_string(),
    };
    let block = Block::bordered().title(title);
    let height = block.inner(area).height as usize;
    let lines: Vec<Line> = app
        .output
        .iter()
        .skip(app.output.len().saturating_sub(height))
        .map(|e| {
            let style = match e.kind.as_str() {
                "stderr" => Style::new().dark_gray(),
                "state" | "exit" => Style::new().cyan(),
                "request" => Style::new().yellow(),
                _ => Style::new(),
            };
            Line::from(vec![
                Span::styled(format!("{:<7} ", e.kind), style),
                Span::raw(e.text.replace('\n', " ")),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn status_style(status: MessageStatus) -> Style {
    match status {
        MessageStatus::Pending => Style::new().yellow(),
        MessageStatus::Delivered => Style::new().green(),
        MessageStatus::Failed | MessageStatus::Interrupted => Style::new().red(),
        MessageStatus::Cancelled => Style::new().magenta(),
    }
}

pub fn draw_messages(frame: &mut Frame, area: Rect, app: &App) {
    let now = app.snapshot.taken_ms;
    let rows: Vec<Row> = app
        .visible_messages()
        .into_iter()
        .map(|a| {
            let m = &a.message;
            // A pending query's time is how long it has been waiting.
            let time = match (m.status, m.duration_ms) {
                (MessageStatus::Pending, _) => {
                    format!("{} so far", when::duration_ms((now - m.created_at).max(0)))
                }
                (_, Some(d)) => when::duration_ms(d),
                _ => String::new(),
            };
            Row::new(vec![
                Cell::from(when::ago(m.created_at, now)),
                Cell::from(format!("{}→{}", a.source, a.target)),
                Cell::from(m.role.as_str()),
                // A query whose agent asked back and waits for the answer.
                if app.snapshot.waiting.contains(&m.id) {
                    Cell::from(crate::hub::ask_back::INPUT_REQUIRED)
                        .style(Style::new().cyan().bold())
                } else if m.stale.is_some() {
                    // A reply whose module changed since it was given.
                    Cell::from("stale").style(Style::new().yellow())
                } else {
                    Cell::from(m.status.as_str()).style(status_style(m.status))
                },
                Cell::from(time),
                Cell::from(m.content.lines().next().unwrap_or("").to_string()),
            ])
        })
        .collect();
    let header =
        Row::new(vec!["WHEN", "PAIR", "ROLE", "STATUS", "TIME", "TEXT"]).style(Style::new().bold());
    let widths = [
        Constraint::Max(10),
        Constraint::Max(20),
        Constraint::Max(5),
        Constraint::Max(14),
        Constraint::Max(12),
        Constraint::Fill(1),
    ];
    frame.render_widget(
        Table::new(rows, widths)
            .header(header)
            .column_spacing(1)
            .block(Block::bordered().title(" Messages (newest first) ")),
        area,
    );
}

pub fn draw_footer(frame: &mut Frame, area: Rect, app: &App) {
    let line = match app.mode {
        Mode::Filter => Line::from(vec![
            Span::styled("filter: ", Style::new().bold()),
            Span::raw(app.filter.clone()),
            Span::styled("▏  Enter keeps, Esc clears", Style::new().dark_gray()),
        ]),
        _ => match &app.status {
            Some(status) => Line::raw(status.clone()),
            None => Line::styled(
                "↑↓ select  Enter follow  s stop  p pause  r restart  / filter  ? help  q quit",
                Style::new().dark_gray(),
            ),
        },
    };
    frame.render_widget(Paragraph::new(line), area);
}

pub const HELP: &[(&str, &str)] = &[
    ("↑ ↓  j k", "select an instance"),
    ("Enter", "follow its live output"),
    ("s", "stop it (and its process tree)"),
    ("p", "pause it (takes no new work) / resume it"),
    ("r", "restart it (a fresh child, same id)"),
    ("/", "filter instances and messages"),
    ("Esc", "clear the filter"),
    ("?", "this help"),
    ("q  Ctrl-C", "quit"),
];

pub fn draw_help(frame: &mut Frame, area: Rect) {
    let width = 56.min(area.width);
    let height = (HELP.len() as u16 + 4).min(area.height);
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    let mut lines: Vec<Line> = HELP
        .iter()
        .map(|(keys, what)| {
            Line::from(vec![
                Span::styled(format!("{keys:<11}"), Style::new().bold().fg(Color::Cyan)),
                Span::raw(*what),
            ])
        })
        .collect();
    lines.push(Line::styled(
        "any key closes this help",
        Style::new().dark_gray(),
    ));
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(" Keys ")),
        popup,
    );
}
