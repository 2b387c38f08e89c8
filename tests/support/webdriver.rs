//! Headless Chromium driven through Debian's `chromedriver` (W3C
//! WebDriver: JSON over HTTP), from Rust with plain blocking HTTP, for the
//! web console's browser test. Plain HTTP keeps the test in the same
//! binary and language as the daemon's other tests, needs no Python or
//! client crate, and every call has a deadline.
//!
//! [`Browser::start`] finds `chromium` and `chromedriver` (scripts/
//! install-browser.sh installs them), starts the driver on a free loopback
//! port and opens a headless session; dropping the [`Browser`] ends the
//! session (which closes Chromium) and kills the driver, so no process is
//! left behind even when the test fails.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long one WebDriver call may take.
const CALL_DEADLINE: Duration = Duration::from_secs(60);

/// The W3C key for an element reference in JSON.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn program(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// One HTTP/1.1 request to the driver; the JSON it answered.
fn call(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
    let mut stream =
        TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("chromedriver: {e}"))?;
    stream.set_read_timeout(Some(CALL_DEADLINE)).unwrap();
    let body = body.map(Value::to_string).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    // chromedriver keeps the connection open whatever we ask: read the
    // head, then exactly Content-Length bytes.
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let read_error =
        |e: std::io::Error| format!("chromedriver did not answer {method} {path}: {e}");
    let head_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut buf).map_err(read_error)?;
        if n == 0 {
            return Err(format!(
                "chromedriver closed the connection on {method} {path}"
            ));
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while raw.len() < head_end + length {
        let n = stream.read(&mut buf).map_err(read_error)?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let body = String::from_utf8_lossy(&raw[head_end..]);
    serde_json::from_str(&body).map_err(|e| format!("{method} {path}: {e}: {body}"))
}

pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
    /// Chromium's profile, thrown away with the browser.
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A headless Chromium, or `None` (after saying why) when the browser
    /// is not installed and the test may be skipped.
    pub fn start() -> Option<Browser> {
        let (Some(chromium), Some(driver)) = (program("chromium"), program("chromedriver")) else {
            let why = "Debian's chromium and chromium-driver are not installed (run scripts/install-browser.sh)";
            if std::env::var("CLAUDE_COMMS_REQUIRE_REAL").as_deref() == Ok("1") {
                panic!("{why}; CLAUDE_COMMS_REQUIRE_REAL=1 forbids skipping the browser test");
            }
            eprintln!("skipped: {why}");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().unwrap();
        let mut browser = Browser {
            driver,
            port,
            session: String::new(),
            _profile: profile,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !call(port, "GET", "/status", None).is_ok_and(|s| s["value"]["ready"] == json!(true))
        {
            assert!(Instant::now() < deadline, "chromedriver not ready in 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut args = vec![
            "--headless=new".to_string(),
            "--disable-gpu".into(),
            "--window-size=1400,1000".into(),
            format!("--user-data-dir={}", browser._profile.path().display()),
        ];
        // Chromium refuses to run as root inside its sandbox.
        use std::os::unix::fs::MetadataExt;
        if std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0) {
            args.push("--no-sandbox".into());
        }
        let created = call(
            port,
            "POST",
            "/session",
            Some(&json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": chromium.display().to_string(), "args": args}
            }}})),
        )
        .expect("a WebDriver session");
        browser.session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_string();
        Some(browser)
    }

    /// A command of this session; panics with the driver's error.
    fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        let answer = call(self.port, method, &path, body.as_ref()).unwrap();
        if answer["value"]["error"].is_string() {
            panic!("WebDriver {method} {path}: {}", answer["value"]);
        }
        answer["value"].clone()
    }

    pub fn goto(&self, url: &str) {
        self.command("POST", "/url", Some(json!({"url": url})));
    }

    pub fn url(&self) -> String {
        self.command("GET", "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The first element matching `css`, if any.
    pub fn find(&self, css: &str) -> Option<String> {
        let path = format!("/session/{}/element", self.session);
        let answer = call(
            self.port,
            "POST",
            &path,
            Some(&json!({"using": "css selector", "value": css})),
        )
        .unwrap();
        answer["value"][ELEMENT].as_str().map(str::to_string)
    }

    /// The element matching `css`, waited for up to `within`.
    pub fn wait_for(&self, css: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            if let Some(element) = self.find(css) {
                return element;
            }
            assert!(
                Instant::now() < deadline,
                "no {css} within {within:?} on {}: {}",
                self.url(),
                self.script("return document.documentElement.outerHTML;")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn text(&self, element: &str) -> String {
        self.command("GET", &format!("/element/{element}/text"), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn attribute(&self, element: &str, name: &str) -> Option<String> {
        self.command("GET", &format!("/element/{element}/attribute/{name}"), None)
            .as_str()
            .map(str::to_string)
    }

    pub fn click(&self, element: &str) {
        self.command(
            "POST",
            &format!("/element/{element}/click"),
            Some(json!({})),
        );
    }

    pub fn type_into(&self, element: &str, text: &str) {
        self.command(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({"text": text})),
        );
    }

    /// Runs `script` in the page (synchronously) and returns its value.
    pub fn script(&self, script: &str) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }

    /// Waits until `script` returns true, up to `within`.
    pub fn wait_until(&self, what: &str, script: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while self.script(script) != json!(true) {
            assert!(Instant::now() < deadline, "{what}: not within {within:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The page's visible text.
    pub fn page_text(&self) -> String {
        let body = self.wait_for("body", Duration::from_secs(10));
        self.text(&body)
    }

    /// Saves a PNG of the viewport to `dir/name.png` when `dir` is given
    /// (`CLAUDE_COMMS_CONSOLE_SCREENSHOTS`), to look at by eye.
    pub fn screenshot(&self, dir: Option<&Path>, name: &str) {
        let Some(dir) = dir else {
            return;
        };
        let data = self.command("GET", "/screenshot", None);
        let png = base64_decode(data.as_str().unwrap_or_default());
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

/// Standard base64 (the screenshot's encoding), without a crate for it.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let digits: Vec<u8> = text
        .bytes()
        .filter(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
        .map(value)
        .collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, d)| n | (u32::from(*d) << (18 - 6 * i)));
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len().saturating_sub(1)]);
    }
    out
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = call(
                self.port,
                "DELETE",
                &format!("/session/{}", self.session),
                None,
            );
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
