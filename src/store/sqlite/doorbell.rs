//! Notices between the processes of one SQLite data directory: SQLite has
//! no `LISTEN/NOTIFY`, so each process that wants notices binds a Unix
//! datagram socket in `<data dir>/run/`, and a process that wrote
//! something another may wait for (a control request, its result) sends
//! one short datagram to every socket there — what PostgreSQL's `NOTIFY`
//! does for its listeners.
//!
//! A datagram is a hint, never data: whoever receives one reads the store
//! again, so a lost, repeated or forged datagram costs a read and nothing
//! else (and the directory is the owner's alone, 0700). Where no socket can
//! be bound (a path over the 108 bytes a socket address holds, a
//! filesystem without sockets) [`Doorbell::listen`] says so and the callers
//! look at the store on a timer, as before.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tokio::sync::broadcast;

use crate::store::Notice;

/// The longest datagram read (a server id or a request id, with a word).
const MAX_DATAGRAM: usize = 512;

/// This process's end: where it listens (bound on first use, inside the
/// runtime) and the directory it rings.
pub(crate) struct Doorbell {
    dir: PathBuf,
    listening: Mutex<Option<Listening>>,
    /// The unbound socket rings are sent from, made on the first ring.
    ringer: Mutex<Option<UnixDatagram>>,
}

struct Listening {
    sender: broadcast::Sender<Notice>,
    socket_path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Doorbell {
    /// The doorbell of the data directory that holds `database`; none
    /// for a database without a directory of its own.
    pub(crate) fn beside(database: &Path) -> Option<Doorbell> {
        let parent = database.parent().filter(|p| !p.as_os_str().is_empty())?;
        Some(Doorbell {
            dir: parent.join("run"),
            listening: Mutex::new(None),
            ringer: Mutex::new(None),
        })
    }

    /// Every notice from now on, binding this process's socket the first
    /// time; `None` when none can be bound (the caller then polls).
    pub(crate) fn listen(&self) -> Option<broadcast::Receiver<Notice>> {
        let mut listening = self.listening.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = listening.as_ref() {
            return Some(l.sender.subscribe());
        }
        let bound = self.bind().inspect_err(|e| {
            tracing::debug!(dir = %self.dir.display(), error = %e, "no doorbell socket; control requests are looked for on a timer");
        });
        let (socket, socket_path) = bound.ok()?;
        let (sender, receiver) = broadcast::channel(256);
        let task = tokio::spawn(receive_forever(socket, sender.clone()));
        *listening = Some(Listening {
            sender,
            socket_path,
            task,
        });
        Some(receiver)
    }

    fn bind(&self) -> std::io::Result<(tokio::net::UnixDatagram, PathBuf)> {
        create_private_dir(&self.dir)?;
        // What processes that were killed left behind goes now, not only
        // at the next ring.
        self.ring_to(b"", None);
        let name = format!(
            "{}-{}.sock",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let path = self.dir.join(name);
        let socket = tokio::net::UnixDatagram::bind(&path)?;
        Ok((socket, path))
    }

    /// Tells every process listening on this data directory about
    /// `notice`. A socket whose process is gone is removed on the way.
    /// This process's own listeners hear it at once, not through their
    /// socket (a datagram and a thread hand-off less per write).
    pub(crate) fn ring(&self, notice: &Notice) {
        let Some(text) = encode(notice) else {
            return;
        };
        let own_socket = {
            let listening = self.listening.lock().unwrap_or_else(|e| e.into_inner());
            listening.as_ref().map(|l| {
                let _ = l.sender.send(notice.clone());
                l.socket_path.clone()
            })
        };
        self.ring_to(text.as_bytes(), own_socket.as_deref());
    }

    /// Sends `datagram` to every socket of the directory but `skip` (an
    /// empty one is no notice: it only finds the sockets nobody listens
    /// on).
    fn ring_to(&self, datagram: &[u8], skip: Option<&Path>) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut ringer = self.ringer.lock().unwrap_or_else(|e| e.into_inner());
        if ringer.is_none() {
            let Ok(socket) = UnixDatagram::unbound() else {
                return;
            };
            if socket.set_nonblocking(true).is_err() {
                return;
            }
            *ringer = Some(socket);
        }
        let Some(socket) = ringer.as_ref() else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "sock") || Some(path.as_path()) == skip {
                continue;
            }
            match socket.send_to(datagram, &path) {
                Ok(_) => {}
                // Nobody bound there any more: a process that died.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    let _ = std::fs::remove_file(&path);
                }
                // A full queue: its owner has a re-read pending anyway.
                Err(_) => {}
            }
        }
    }
}

impl Drop for Doorbell {
    fn drop(&mut self) {
        let listening = self.listening.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = listening.take() {
            l.task.abort();
            let _ = std::fs::remove_file(&l.socket_path);
        }
    }
}

async fn receive_forever(socket: tokio::net::UnixDatagram, sender: broadcast::Sender<Notice>) {
    let mut buffer = [0u8; MAX_DATAGRAM];
    loop {
        let Ok(read) = socket.recv(&mut buffer).await else {
            return;
        };
        if let Some(notice) = std::str::from_utf8(&buffer[..read]).ok().and_then(decode) {
            let _ = sender.send(notice);
        }
    }
}

/// The notices one machine's processes tell each other (instance control,
/// outcomes, questions back); the others (questions routed, leases,
/// descriptors) belong to a fleet, which SQLite does not hold.
fn encode(notice: &Notice) -> Option<String> {
    match notice {
        Notice::ControlRequested { server_id } => Some(format!("control request {server_id}")),
        Notice::ControlDone { id } => Some(format!("control done {id}")),
        Notice::Outcome { query_id } => Some(format!("outcome {query_id}")),
        Notice::AskBack { query_id } => Some(format!("ask_back {query_id}")),
        _ => None,
    }
}

fn decode(text: &str) -> Option<Notice> {
    let (word, rest) = text.split_once(' ')?;
    match (word, rest.split_once(' ')) {
        ("control", Some(("request", server_id))) => Some(Notice::ControlRequested {
            server_id: server_id.to_string(),
        }),
        ("control", Some(("done", id))) => id.parse().ok().map(|id| Notice::ControlDone { id }),
        ("outcome", None) => Some(Notice::Outcome {
            query_id: rest.to_string(),
        }),
        ("ask_back", None) => Some(Notice::AskBack {
            query_id: rest.to_string(),
        }),
        _ => None,
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database_in(dir: &Path) -> PathBuf {
        dir.join("comms.db")
    }

    #[tokio::test]
    async fn a_ring_reaches_every_listener_of_the_data_directory() {
        let home = tempfile::tempdir().unwrap();
        let (one, two) = (
            Doorbell::beside(&database_in(home.path())).unwrap(),
            Doorbell::beside(&database_in(home.path())).unwrap(),
        );
        let mut heard_by_one = one.listen().expect("a socket binds");
        let mut heard_by_two = two.listen().expect("a socket binds");
        let asked = Notice::ControlRequested {
            server_id: "server-1".into(),
        };
        one.ring(&asked);
        assert_eq!(heard_by_one.recv().await.unwrap(), asked);
        assert_eq!(heard_by_two.recv().await.unwrap(), asked);
        two.ring(&Notice::ControlDone { id: 42 });
        assert_eq!(
            heard_by_one.recv().await.unwrap(),
            Notice::ControlDone { id: 42 }
        );
    }

    #[tokio::test]
    async fn the_socket_of_a_process_that_is_gone_is_removed_by_the_next_ring() {
        let home = tempfile::tempdir().unwrap();
        let database = database_in(home.path());
        let run = home.path().join("run");
        let ringer = Doorbell::beside(&database).unwrap();
        let _listening = ringer.listen().expect("a socket binds");
        // A socket file nobody is bound to any more, as a killed process
        // leaves it.
        let stale = run.join("1-deadbeef.sock");
        drop(std::os::unix::net::UnixDatagram::bind(&stale).unwrap());
        assert!(stale.exists());
        ringer.ring(&Notice::ControlDone { id: 1 });
        assert!(!stale.exists(), "the dead process's socket is removed");
        assert_eq!(std::fs::read_dir(&run).unwrap().count(), 1);
    }

    #[tokio::test]
    async fn a_process_that_starts_listening_removes_the_dead_ones_sockets() {
        let home = tempfile::tempdir().unwrap();
        let run = home.path().join("run");
        create_private_dir(&run).unwrap();
        let stale = run.join("2-deadbeef.sock");
        drop(std::os::unix::net::UnixDatagram::bind(&stale).unwrap());
        let bell = Doorbell::beside(&database_in(home.path())).unwrap();
        let _listening = bell.listen().expect("a socket binds");
        assert!(!stale.exists());
        assert_eq!(std::fs::read_dir(&run).unwrap().count(), 1);
    }

    #[tokio::test]
    async fn a_closed_doorbell_removes_its_socket() {
        let home = tempfile::tempdir().unwrap();
        let bell = Doorbell::beside(&database_in(home.path())).unwrap();
        let _ = bell.listen().expect("a socket binds");
        let run = home.path().join("run");
        assert_eq!(std::fs::read_dir(&run).unwrap().count(), 1);
        drop(bell);
        assert_eq!(std::fs::read_dir(&run).unwrap().count(), 0);
    }

    #[test]
    fn only_well_formed_datagrams_are_notices() {
        assert_eq!(
            decode("control done 7"),
            Some(Notice::ControlDone { id: 7 })
        );
        assert_eq!(decode("control done seven"), None);
        assert_eq!(decode("control stop everything"), None);
        assert_eq!(decode("DROP TABLE messages"), None);
        for notice in [
            Notice::Outcome {
                query_id: "q-1".into(),
            },
            Notice::AskBack {
                query_id: "q-2".into(),
            },
            Notice::ControlRequested {
                server_id: "s-1".into(),
            },
        ] {
            assert_eq!(decode(&encode(&notice).unwrap()), Some(notice));
        }
        assert_eq!(decode("outcome two words"), None);
        assert_eq!(encode(&Notice::Descriptors), None);
    }
}
