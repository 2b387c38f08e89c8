//! Each pane rendered with ratatui's `TestBackend`, checked for what a
//! person would read on it; and the keys, checked for what they do.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::{Action, App, Mode};
use super::data::{InstanceView, Snapshot};
use super::draw;
use crate::hub::{ControlAction, InstanceEvent, InstanceRow, MessageActivity};
use crate::hub::{InstanceRecord, Message, MessageStatus, Role};

const NOW: i64 = 1_800_000_000_000;

fn instance(id: &str, state: &str, pid: Option<u32>) -> InstanceView {
    InstanceView {
        row: InstanceRow {
            server_id: "server-1".into(),
            server_pid: 4242,
            hostname: "here".into(),
            server_alive: true,
            server_module: Some("marker".into()),
            uptime_s: Some(125),
            node: None,
            instance: InstanceRecord {
                id: id.into(),
                name: None,
                backend: "claude-code-mcp".into(),
                state: state.into(),
                pid,
                module_pair: Some("marker->arangodb".into()),
                started_at: Some(NOW - 125_000),
                requests_served: 7,
                in_flight: 1,
                queued: 2,
                restarts: 3,
                last_error: None,
                rss_kib: None,
            },
        },
        rss_bytes: Some(48 * 1024 * 1024),
    }
}

fn message(
    seq: i64,
    role: Role,
    status: MessageStatus,
    duration: Option<i64>,
    text: &str,
) -> MessageActivity {
    MessageActivity {
        source: "marker".into(),
        target: "arangodb".into(),
        message: Message {
            id: format!("m{seq}"),
            conversation_id: "c1".into(),
            seq,
            sender: "marker".into(),
            role,
            content: text.into(),
            created_at: NOW - 3_000,
            status,
            instance_id: None,
            duration_ms: duration,
            usage: None,
            cost_usd: None,
            template_version: None,
            idempotency_key: None,
            hop_chain: vec![],
            context_note: None,
            error: None,
            reply_to: None,
            owner: None,
            tool_uses: Vec::new(),
            module_commit: None,
            module_dirty: None,
            reused_from: None,
            node: None,
            stale: None,
        },
    }
}

fn app() -> App {
    let mut app = App::new();
    app.update(Snapshot {
        instances: vec![
            instance("mcp-3f2a9c-1", "ready", Some(1234)),
            instance("mcp-3f2a9c-2", "paused", Some(1235)),
        ],
        messages: vec![
            message(
                2,
                Role::Reply,
                MessageStatus::Delivered,
                Some(1_500),
                "lemurs go to Madagascar",
            ),
            message(
                1,
                Role::Query,
                MessageStatus::Pending,
                None,
                "where do lemurs go?",
            ),
        ],
        taken_ms: NOW,
        warnings: Vec::new(),
        waiting: Default::default(),
    });
    app
}

/// The screen as text, one string per row.
fn render(width: u16, height: u16, paint: impl FnOnce(&mut ratatui::Frame)) -> Vec<String> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(paint).unwrap();
    let buffer = terminal.backend().buffer().clone();
    (0..height)
        .map(|y| {
            (0..width)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
        })
        .collect()
}

fn screen_has(screen: &[String], text: &str) -> bool {
    screen.iter().any(|line| line.contains(text))
}

#[test]
fn the_instances_pane_shows_each_instance_with_its_numbers() {
    let app = app();
    let screen = render(120, 8, |f| draw::draw_instances(f, f.area(), &app));
    let text = screen.join("\n");
    for expected in [
        "Instances",
        "STATE",
        "mcp-3f2a9c-1",
        "ready",
        "1234",
        "paused",
        "2 min",
        "7/1/2",
        "48.0 MiB",
        "marker->arangodb",
        "mcp ",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    assert!(
        screen_has(&screen, "> mcp-3f2a9c-1"),
        "the first row is selected:\n{text}"
    );
}

#[test]
fn the_instances_pane_says_when_there_is_nothing_to_show() {
    let app = App::new();
    let screen = render(80, 6, |f| draw::draw_instances(f, f.area(), &app));
    assert!(screen_has(&screen, "no instances"), "{}", screen.join("\n"));
}

#[test]
fn the_messages_pane_shows_state_and_duration_newest_first() {
    let app = app();
    let screen = render(100, 6, |f| draw::draw_messages(f, f.area(), &app));
    let text = screen.join("\n");
    let reply = screen
        .iter()
        .position(|l| l.contains("delivered"))
        .expect(&text);
    let query = screen
        .iter()
        .position(|l| l.contains("pending"))
        .expect(&text);
    assert!(reply < query, "newest first:\n{text}");
    assert!(
        screen[reply].contains("1.5 s") && screen[reply].contains("lemurs go to Madagascar"),
        "{text}"
    );
    assert!(
        screen[query].contains("3.0 s so far"),
        "a pending query shows how long it waits:\n{text}"
    );
    assert!(
        text.contains("3 s ago") && text.contains("marker→arangodb"),
        "{text}"
    );
}

#[test]
fn a_query_whose_agent_asked_back_is_marked_waiting_for_the_answer() {
    let mut app = app();
    let mut snapshot = app.snapshot.clone();
    snapshot.waiting.insert("m1".into());
    app.update(snapshot);
    let screen = render(100, 6, |f| draw::draw_messages(f, f.area(), &app));
    let text = screen.join("\n");
    let query = screen
        .iter()
        .position(|l| l.contains("where do lemurs go?"))
        .expect(&text);
    assert!(screen[query].contains("input_required"), "{text}");
    assert!(!text.contains("pending"), "{text}");
    let header = render(100, 1, |f| draw::draw_header(f, f.area(), &app)).join("\n");
    assert!(header.contains("1 waiting for your answer"), "{header}");
}

#[test]
fn a_stale_reply_says_so_in_the_pane_and_the_plain_line() {
    let mut a = message(
        2,
        Role::Reply,
        MessageStatus::Delivered,
        Some(900),
        "old answer",
    );
    a.message.module_commit = Some("a".repeat(40));
    a.message.stale = Some(crate::workspace::Changes {
        from: "a".repeat(40),
        to: "b".repeat(40),
        commits: Some(3),
        files: vec!["src/lib.rs".into()],
        files_changed: 1,
    });
    let line = super::plain::message_line(&a);
    assert!(
        line.contains("delivered stale (3 commits, 1 files)"),
        "{line}"
    );
    let mut app = app();
    app.snapshot.messages = vec![a];
    let screen = render(100, 5, |f| draw::draw_messages(f, f.area(), &app));
    let row = screen
        .iter()
        .find(|l| l.contains("old answer"))
        .expect("the row");
    assert!(row.contains("stale") && !row.contains("delivered"), "{row}");
}

#[test]
fn the_output_pane_shows_the_followed_instance_latest_lines() {
    let mut app = app();
    assert!(
        render(60, 5, |f| draw::draw_output(f, f.area(), &app))
            .join("\n")
            .contains("Enter follows")
    );
    app.followed = Some("mcp-3f2a9c-1".into());
    for i in 0..10 {
        app.push_output(InstanceEvent {
            instance_id: "mcp-3f2a9c-1".into(),
            at_ms: NOW,
            kind: "stderr".into(),
            text: format!("line {i}"),
        });
    }
    let screen = render(60, 5, |f| draw::draw_output(f, f.area(), &app));
    let text = screen.join("\n");
    assert!(text.contains("Output of mcp-3f2a9c-1"), "{text}");
    assert!(
        text.contains("line 9") && text.contains("line 7"),
        "the latest lines fit:\n{text}"
    );
    assert!(!text.contains("line 6"), "older lines scroll away:\n{text}");
}

#[test]
fn the_whole_screen_fits_80_by_24_and_help_lists_every_key() {
    let mut app = app();
    let screen = render(80, 24, |f| draw::draw(f, &app));
    let text = screen.join("\n");
    for expected in [
        "claude-comms",
        "Instances",
        "mcp-3f2a9c-1",
        "Output",
        "Messages",
        "q quit",
    ] {
        assert!(
            text.contains(expected),
            "missing {expected:?} at 80x24:\n{text}"
        );
    }
    app.mode = Mode::Help;
    let text = render(80, 24, |f| draw::draw(f, &app)).join("\n");
    for (keys, _) in draw::HELP {
        assert!(text.contains(keys.trim()), "help lacks {keys:?}:\n{text}");
    }
}

fn press(app: &mut App, code: KeyCode) -> Option<Action> {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE))
}

#[test]
fn keys_select_follow_and_control_the_selected_instance() {
    let mut app = app();
    assert_eq!(
        press(&mut app, KeyCode::Char('s')),
        Some(Action::Control("mcp-3f2a9c-1".into(), ControlAction::Stop))
    );
    assert_eq!(
        press(&mut app, KeyCode::Char('p')),
        Some(Action::Control("mcp-3f2a9c-1".into(), ControlAction::Pause))
    );
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Down); // past the end stays on the last
    assert_eq!(
        press(&mut app, KeyCode::Char('p')),
        Some(Action::Control(
            "mcp-3f2a9c-2".into(),
            ControlAction::Resume
        )),
        "p resumes a paused instance"
    );
    assert_eq!(
        press(&mut app, KeyCode::Char('r')),
        Some(Action::Control(
            "mcp-3f2a9c-2".into(),
            ControlAction::Restart
        ))
    );
    assert_eq!(
        press(&mut app, KeyCode::Enter),
        Some(Action::Follow("mcp-3f2a9c-2".into()))
    );
    assert_eq!(app.followed.as_deref(), Some("mcp-3f2a9c-2"));
    press(&mut app, KeyCode::Char('k'));
    assert_eq!(
        app.selected_instance().unwrap().row.instance.id,
        "mcp-3f2a9c-1"
    );
    assert_eq!(press(&mut app, KeyCode::Char('q')), Some(Action::Quit));
    assert_eq!(
        app.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
        Some(Action::Quit)
    );
}

#[test]
fn a_filter_narrows_both_lists_and_esc_clears_it() {
    let mut app = app();
    press(&mut app, KeyCode::Char('/'));
    for c in "paused".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.mode, Mode::Normal);
    let ids: Vec<_> = app
        .visible_instances()
        .iter()
        .map(|v| v.row.instance.id.clone())
        .collect();
    assert_eq!(ids, ["mcp-3f2a9c-2"]);
    assert!(app.visible_messages().is_empty());
    let text = render(80, 24, |f| draw::draw(f, &app)).join("\n");
    assert!(
        text.contains("filter: paused") && !text.contains("mcp-3f2a9c-1"),
        "{text}"
    );
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.visible_instances().len(), 2);
}

#[test]
fn the_selection_stays_on_its_instance_when_rows_move() {
    let mut app = app();
    press(&mut app, KeyCode::Char('j'));
    let mut snapshot = app.snapshot.clone();
    snapshot
        .instances
        .insert(0, instance("mcp-3f2a9c-0", "ready", None));
    app.update(snapshot);
    assert_eq!(
        app.selected_instance().unwrap().row.instance.id,
        "mcp-3f2a9c-2"
    );
}

#[test]
fn a_module_with_full_permissions_is_a_warning_in_the_header() {
    let mut app = app();
    let mut snapshot = app.snapshot.clone();
    snapshot.warnings = vec!["module arangodb: full permissions".into()];
    app.update(snapshot);
    let screen = render(80, 1, |f| draw::draw_header(f, f.area(), &app));
    assert!(
        screen[0].contains("⚠ module arangodb: full"),
        "{}",
        screen[0]
    );
}
