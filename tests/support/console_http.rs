//! A browser-less client of the web console (`/console` on the daemon's
//! TCP face): sign in with a token, keep the session cookie, read pages
//! and post forms with or without the CSRF token and the Origin a browser
//! sends, through the plain HTTP client of `http_raw.rs` (exactly the
//! headers a test means, a read deadline).

#![allow(dead_code)]

use crate::http_raw::request_to;

/// A reply of the console: the plain client's (`http_raw.rs`).
pub type Page = crate::http_raw::Reply;

/// What a test reads off a console page.
pub trait PageExt {
    /// The page's CSRF token (the `csrf-token` meta element).
    fn csrf(&self) -> String;
}

impl PageExt for Page {
    fn csrf(&self) -> String {
        let marker = r#"<meta name="csrf-token" content=""#;
        let start = self.body.find(marker).expect("a signed-in page") + marker.len();
        let end = self.body[start..].find('"').unwrap();
        self.body[start..start + end].to_string()
    }
}

/// One request; `headers` are added as given (and the form's content type
/// when there is a body).
pub fn send(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Page {
    let mut all = headers.to_vec();
    if !body.is_empty() {
        all.push(("Content-Type", "application/x-www-form-urlencoded"));
    }
    request_to(addr, method, path, &all, body.as_bytes())
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
