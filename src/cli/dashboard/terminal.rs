//! The full-screen loop: key presses (read on a thread of their own) and
//! data ticks meet in one `select!`; every change redraws. The terminal is
//! restored on every way out: `q`, Ctrl-C (a key in raw mode, or SIGINT),
//! an error, and a panic (ratatui's panic hook).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ratatui::crossterm::event::{self, Event, KeyEventKind};
use tokio::sync::mpsc;

use super::app::{Action, App};
use super::data::Snapshot;
use crate::hub::{Hub, InstanceEvent};

/// How often the data is read again: the issue asks for at least once a second.
pub const REFRESH: Duration = Duration::from_millis(1000);

/// How long the key thread waits for a key before checking whether to end.
const KEY_POLL: Duration = Duration::from_millis(100);

pub async fn run(hub: Arc<Hub>) -> anyhow::Result<i32> {
    let mut terminal = ratatui::try_init()?;
    let result = event_loop(&hub, &mut terminal).await;
    ratatui::restore();
    result
}

async fn event_loop(
    hub: &Arc<Hub>,
    terminal: &mut ratatui::DefaultTerminal,
) -> anyhow::Result<i32> {
    let mut app = App::new();
    let (keys, mut key_events) = mpsc::channel(64);
    let stop_keys = Arc::new(AtomicBool::new(false));
    let key_thread = {
        let stop = stop_keys.clone();
        std::thread::spawn(move || read_keys(keys, &stop))
    };
    let (results, mut action_results) = mpsc::unbounded_channel::<String>();
    let (output_tx, mut output) = mpsc::channel::<InstanceEvent>(256);
    let mut follower: Option<tokio::task::JoinHandle<()>> = None;
    let mut tick = tokio::time::interval(REFRESH);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let outcome = loop {
        tokio::select! {
            _ = tick.tick() => match Snapshot::read(hub).await {
                Ok(snapshot) => app.update(snapshot),
                Err(e) => app.status = Some(format!("cannot read the database: {e}")),
            },
            key = key_events.recv() => {
                let Some(key) = key else { break Ok(0) };
                match app.on_key(key) {
                    Some(Action::Quit) => break Ok(0),
                    Some(Action::Follow(id)) => {
                        if let Some(old) = follower.take() {
                            old.abort();
                        }
                        follower = Some(follow(hub.clone(), id, output_tx.clone(), results.clone()));
                    }
                    Some(Action::Control(id, action)) => {
                        app.status = Some(format!("{} {id}…", action.as_str()));
                        let (hub, results) = (hub.clone(), results.clone());
                        // A remote server may take seconds to act; the screen stays live.
                        tokio::spawn(async move {
                            let text = match hub.instances().control(&id, action).await {
                                Ok(status) => format!(
                                    "{}: {} is {}",
                                    action.as_str(),
                                    status.instance_id,
                                    status.state.as_str()
                                ),
                                Err(e) => format!("{} {id} failed: {e}", action.as_str()),
                            };
                            let _ = results.send(text);
                        });
                    }
                    None => {}
                }
            }
            Some(text) = action_results.recv() => {
                app.status = Some(text);
                tick.reset_immediately();
            }
            Some(event) = output.recv() => app.push_output(event),
            _ = tokio::signal::ctrl_c() => break Ok(0),
        }
        if let Err(e) = terminal.draw(|frame| super::draw::draw(frame, &app)) {
            break Err(e.into());
        }
    };
    if let Some(f) = follower {
        f.abort();
    }
    stop_keys.store(true, Ordering::Relaxed);
    let _ = key_thread.join();
    outcome
}

/// Reads key presses until told to stop or the loop is gone.
fn read_keys(keys: mpsc::Sender<event::KeyEvent>, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        match event::poll(KEY_POLL) {
            Ok(false) => continue,
            Ok(true) => {}
            Err(_) => return,
        }
        match event::read() {
            Ok(Event::Key(key)) if key.kind == KeyEventKind::Press => {
                if keys.blocking_send(key).is_err() {
                    return;
                }
            }
            Ok(_) => {} // resize: the next draw fits the new size
            Err(_) => return,
        }
    }
}

/// Sends the last lines and then the live events of an instance's journal.
fn follow(
    hub: Arc<Hub>,
    id: String,
    output: mpsc::Sender<InstanceEvent>,
    errors: mpsc::UnboundedSender<String>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let (recent, mut follower) = match hub
            .instances()
            .follow_journal(&id, super::app::OUTPUT_LINES)
            .await
        {
            Ok(found) => found,
            Err(e) => {
                let _ = errors.send(format!("cannot follow {id}: {e}"));
                return;
            }
        };
        for event in recent {
            if output.send(event).await.is_err() {
                return;
            }
        }
        while let Ok(event) = follower.next().await {
            if output.send(event).await.is_err() {
                return;
            }
        }
    })
}
