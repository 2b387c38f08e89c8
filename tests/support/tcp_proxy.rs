//! A TCP proxy on loopback between claude-comms and PostgreSQL, for tests
//! and benchmarks: it holds every chunk for a fixed delay before passing
//! it on (a database across a network), and counts round trips (each time
//! a connection's client speaks again after the server answered).
//!
//! Threads and a precise sleep, not async timers: a timer rounds each delay
//! up to a millisecond, which would double a 1 ms delay.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running proxy; stops accepting when dropped (connections end when
/// either side closes).
pub struct TcpProxy {
    port: u16,
    rounds: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl TcpProxy {
    /// Listens on a free loopback port and forwards to `127.0.0.1:upstream`,
    /// each chunk `delay` late in each direction.
    pub fn start(upstream: u16, delay: Duration) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let port = listener.local_addr().expect("its address").port();
        let rounds = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (counted, stopping) = (rounds.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                            continue;
                        };
                        connect(client, server, delay, counted.clone());
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        TcpProxy { port, rounds, stop }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `url` (a `postgres://...@127.0.0.1:PORT/...` of the cluster) with
    /// this proxy's port instead.
    pub fn url_through(&self, url: &str, upstream: u16) -> String {
        url.replace(&format!(":{upstream}/"), &format!(":{}/", self.port))
    }

    /// Round trips so far, over every connection.
    pub fn rounds(&self) -> u64 {
        self.rounds.load(Ordering::SeqCst)
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Pipes one connection both ways. `client_spoke_last` marks whose turn it
/// is: a client chunk after a server chunk is a new round trip.
fn connect(client: TcpStream, server: TcpStream, delay: Duration, rounds: Arc<AtomicU64>) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let client_spoke_last = Arc::new(AtomicBool::new(false));
    let (Ok(client_in), Ok(server_in)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let to_server = {
        let (turn, rounds) = (client_spoke_last.clone(), rounds);
        move |_: &[u8]| {
            if !turn.swap(true, Ordering::SeqCst) {
                rounds.fetch_add(1, Ordering::SeqCst);
            }
        }
    };
    let to_client = move |_: &[u8]| client_spoke_last.store(false, Ordering::SeqCst);
    pipe(client_in, server, delay, to_server);
    pipe(server_in, client, delay, to_client);
}

/// Reads chunks from `from` and writes each to `to` once `delay` has
/// passed since it arrived (a reader and a writer thread, so a delay does
/// not limit throughput).
fn pipe(
    mut from: TcpStream,
    mut to: TcpStream,
    delay: Duration,
    on_chunk: impl Fn(&[u8]) + Send + 'static,
) {
    let (chunks, due) = mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match from.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    on_chunk(&buffer[..n]);
                    if chunks
                        .send((Instant::now() + delay, buffer[..n].to_vec()))
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
    });
    std::thread::spawn(move || {
        // The kernel may wake a sleeper up to its "timer slack" late (50 us
        // by default); 1 ns makes the OS sleep precise, so little is spun.
        let _ = nix::sys::prctl::set_timerslack(1);
        for (at, chunk) in due {
            sleep_until(at);
            if to.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}

/// Sleeps until `at`: the OS sleep for most of it, then a short spin (an
/// OS sleep overshoots by some microseconds even without timer slack).
fn sleep_until(at: Instant) {
    const SPIN: Duration = Duration::from_micros(30);
    let now = Instant::now();
    if at <= now {
        return;
    }
    let left = at - now;
    if left > SPIN {
        std::thread::sleep(left - SPIN);
    }
    while Instant::now() < at {
        std::hint::spin_loop();
    }
}
