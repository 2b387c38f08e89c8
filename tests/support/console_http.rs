//! A browser-less client of the web console (`/console` on the daemon's
//! TCP face): sign in with a token, keep the session cookie, read pages
//! and post forms with or without the CSRF token and the Origin a browser
//! sends. Plain HTTP/1.1 over a TCP stream with a read deadline, so a
//! test sends exactly the headers it means to.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const READ_DEADLINE: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Page {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The page's CSRF token (the `csrf-token` meta element).
    pub fn csrf(&self) -> String {
        let marker = r#"<meta name="csrf-token" content=""#;
        let start = self.body.find(marker).expect("a signed-in page") + marker.len();
        let end = self.body[start..].find('"').unwrap();
        self.body[start..start + end].to_string()
    }
}

/// One request; `headers` are added as given.
pub fn send(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Page {
    let mut stream = TcpStream::connect(addr).expect("connect to the daemon's TCP face");
    stream.set_read_timeout(Some(READ_DEADLINE)).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    if !body.is_empty() {
        head.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .expect("a reply within the deadline");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Page {
        status,
        headers,
        body,
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// Form-encodes a value (the bytes a browser would send).
pub fn form_value(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A signed-in console session.
pub struct Console {
    pub addr: String,
    /// `cc_console=<id>`, as the browser sends it back.
    pub cookie: String,
    /// The Set-Cookie header that opened the session.
    pub set_cookie: String,
}

impl Console {
    /// The Origin a browser sends with a form of the console.
    pub fn origin(addr: &str) -> String {
        format!("http://{addr}")
    }

    /// Posts the sign-in form; the reply as it is.
    pub fn try_sign_in(addr: &str, token: &str) -> Page {
        let origin = Console::origin(addr);
        send(
            addr,
            "POST",
            "/console/login",
            &[("Origin", &origin)],
            &format!("token={}", form_value(token)),
        )
    }

    pub fn sign_in(addr: &str, token: &str) -> Console {
        let page = Console::try_sign_in(addr, token);
        assert_eq!(page.status, 303, "signed in: {page:?}");
        let set_cookie = page
            .header("set-cookie")
            .expect("a session cookie")
            .to_string();
        let cookie = set_cookie.split(';').next().unwrap().trim().to_string();
        Console {
            addr: addr.to_string(),
            cookie,
            set_cookie,
        }
    }

    pub fn get(&self, path: &str) -> Page {
        send(&self.addr, "GET", path, &[("Cookie", &self.cookie)], "")
    }

    /// Posts a form from the console's own page, with the session's CSRF
    /// token (read from `from`, a page of this session).
    pub fn post(&self, path: &str, from: &str) -> Page {
        let csrf = self.get(from).csrf();
        self.post_with(path, Some(&csrf), Some(&Console::origin(&self.addr)))
    }

    /// Posts a form with the given CSRF token and Origin (or none).
    pub fn post_with(&self, path: &str, csrf: Option<&str>, origin: Option<&str>) -> Page {
        let mut headers = vec![("Cookie", self.cookie.as_str())];
        if let Some(origin) = origin {
            headers.push(("Origin", origin));
        }
        let body = csrf
            .map(|c| format!("csrf={}", form_value(c)))
            .unwrap_or_default();
        send(&self.addr, "POST", path, &headers, &body)
    }
}
