//! The dashboard's state and what each key does to it. No terminal here:
//! a key turns into a change of state and, for commands, an [`Action`] the
//! event loop carries out through the hub.

use std::collections::VecDeque;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::data::{InstanceView, Snapshot};
use crate::hub::{ControlAction, InstanceEvent, MessageActivity};

/// Lines of the followed instance's output kept on screen.
pub const OUTPUT_LINES: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// Typing a filter after `/`.
    Filter,
    Help,
}

/// Something the event loop does for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Follow this instance's live output.
    Follow(String),
    Control(String, ControlAction),
    Quit,
}

#[derive(Debug)]
pub struct App {
    pub snapshot: Snapshot,
    /// Index into [`App::visible_instances`].
    pub selected: usize,
    /// The instance whose output is shown.
    pub followed: Option<String>,
    pub output: VecDeque<InstanceEvent>,
    /// Case-insensitive; matches instance and message fields.
    pub filter: String,
    pub mode: Mode,
    /// The result of the last action, or a read error.
    pub status: Option<String>,
}

impl App {
    pub fn new() -> App {
        App {
            snapshot: Snapshot::default(),
            selected: 0,
            followed: None,
            output: VecDeque::new(),
            filter: String::new(),
            mode: Mode::Normal,
            status: None,
        }
    }

    fn matches(&self, fields: &[&str]) -> bool {
        let filter = self.filter.to_lowercase();
        filter.is_empty() || fields.iter().any(|f| f.to_lowercase().contains(&filter))
    }

    pub fn visible_instances(&self) -> Vec<&InstanceView> {
        self.snapshot
            .instances
            .iter()
            .filter(|v| {
                let i = &v.row.instance;
                self.matches(&[
                    &i.id,
                    i.name.as_deref().unwrap_or(""),
                    &i.backend,
                    &i.state,
                    i.module_pair.as_deref().unwrap_or(""),
                    v.row.server_module.as_deref().unwrap_or(""),
                ])
            })
            .collect()
    }

    pub fn visible_messages(&self) -> Vec<&MessageActivity> {
        self.snapshot
            .messages
            .iter()
            .filter(|m| {
                self.matches(&[
                    &m.source,
                    &m.target,
                    &m.message.conversation_id,
                    m.message.status.as_str(),
                    m.message.instance_id.as_deref().unwrap_or(""),
                ])
            })
            .collect()
    }

    pub fn selected_instance(&self) -> Option<&InstanceView> {
        self.visible_instances().get(self.selected).copied()
    }

    /// Takes a fresh snapshot, keeping the selection on the same instance.
    pub fn update(&mut self, snapshot: Snapshot) {
        let selected_id = self.selected_instance().map(|v| v.row.instance.id.clone());
        self.snapshot = snapshot;
        if let Some(id) = selected_id
            && let Some(i) = self
                .visible_instances()
                .iter()
                .position(|v| v.row.instance.id == id)
        {
            self.selected = i;
        }
        self.clamp_selection();
    }

    /// A line of the followed instance's output.
    pub fn push_output(&mut self, event: InstanceEvent) {
        if self.output.len() == OUTPUT_LINES {
            self.output.pop_front();
        }
        self.output.push_back(event);
    }

    fn clamp_selection(&mut self) {
        let count = self.visible_instances().len();
        self.selected = self.selected.min(count.saturating_sub(1));
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Option<Action> {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Some(Action::Quit);
        }
        match self.mode {
            Mode::Help => {
                self.mode = Mode::Normal;
                (key.code == KeyCode::Char('q')).then_some(Action::Quit)
            }
            Mode::Filter => {
                match key.code {
                    KeyCode::Enter => self.mode = Mode::Normal,
                    KeyCode::Esc => {
                        self.filter.clear();
                        self.mode = Mode::Normal;
                    }
                    KeyCode::Backspace => {
                        self.filter.pop();
                    }
                    KeyCode::Char(c) => self.filter.push(c),
                    _ => {}
                }
                self.clamp_selection();
                None
            }
            Mode::Normal => self.on_normal_key(key.code),
        }
    }

    fn on_normal_key(&mut self, code: KeyCode) -> Option<Action> {
        let selected = self
            .selected_instance()
            .map(|v| (v.row.instance.id.clone(), v.row.instance.state == "paused"));
        match code {
            KeyCode::Char('q') => return Some(Action::Quit),
            KeyCode::Char('?') => self.mode = Mode::Help,
            KeyCode::Char('/') => self.mode = Mode::Filter,
            KeyCode::Esc => self.filter.clear(),
            KeyCode::Down | KeyCode::Char('j') => {
                self.selected += 1;
                self.clamp_selection();
            }
            KeyCode::Up | KeyCode::Char('k') => self.selected = self.selected.saturating_sub(1),
            KeyCode::Enter => {
                let (id, _) = selected?;
                self.followed = Some(id.clone());
                self.output.clear();
                return Some(Action::Follow(id));
            }
            KeyCode::Char('s') => return Some(Action::Control(selected?.0, ControlAction::Stop)),
            KeyCode::Char('r') => {
                return Some(Action::Control(selected?.0, ControlAction::Restart));
            }
            KeyCode::Char('p') => {
                let (id, paused) = selected?;
                let action = if paused {
                    ControlAction::Resume
                } else {
                    ControlAction::Pause
                };
                return Some(Action::Control(id, action));
            }
            _ => {}
        }
        None
    }
}

impl Default for App {
    fn default() -> Self {
        App::new()
    }
}
