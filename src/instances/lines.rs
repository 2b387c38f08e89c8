//! Reading a child's output line by line without trusting it: a line is
//! never held whole past a limit. An oversized line is kept as its head,
//! its tail and its length, so a runaway child cannot make us buffer
//! hundreds of megabytes, and the caller can still say what happened.

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// Bytes kept from the start of an oversized line.
const HEAD_KEPT: usize = 4 << 10;
/// Bytes kept from the end of an oversized line.
const TAIL_KEPT: usize = 4 << 10;

/// One line of a child's output.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Line {
    Whole(String),
    /// Longer than the limit: its first and last bytes and its length.
    Oversized {
        head: String,
        tail: String,
        len: usize,
    },
}

impl Line {
    /// The line as text for a log: whole, or cut in the middle with its length.
    pub fn into_text(self) -> String {
        match self {
            Line::Whole(text) => text,
            Line::Oversized { head, tail, len } => {
                format!("{head} …[line of {len} bytes cut]… {tail}")
            }
        }
    }
}

pub(super) struct BoundedLines<R> {
    reader: BufReader<R>,
    max: usize,
}

impl<R: AsyncRead + Unpin> BoundedLines<R> {
    pub fn new(reader: R, max: usize) -> BoundedLines<R> {
        BoundedLines {
            reader: BufReader::new(reader),
            max,
        }
    }

    /// The next line without its newline; `None` at end of output.
    pub async fn next_line(&mut self) -> std::io::Result<Option<Line>> {
        let mut line: Vec<u8> = Vec::new();
        let mut tail: Vec<u8> = Vec::new();
        let mut len = 0usize;
        let mut seen_any = false;
        loop {
            let buf = self.reader.fill_buf().await?;
            if buf.is_empty() {
                if !seen_any {
                    return Ok(None);
                }
                break;
            }
            seen_any = true;
            let (chunk, found_newline) = match buf.iter().position(|b| *b == b'\n') {
                Some(i) => (&buf[..i], true),
                None => (buf, false),
            };
            let was_within = len <= self.max;
            len += chunk.len();
            if len <= self.max {
                line.extend_from_slice(chunk);
            } else {
                // Oversized: keep the head, roll the tail.
                let head_max = HEAD_KEPT.min(self.max);
                let mut rest = chunk;
                if was_within {
                    if line.len() > head_max {
                        tail = line.split_off(head_max);
                    } else {
                        let take = (head_max - line.len()).min(rest.len());
                        line.extend_from_slice(&rest[..take]);
                        rest = &rest[take..];
                    }
                }
                tail.extend_from_slice(rest);
                if tail.len() > TAIL_KEPT {
                    tail.drain(..tail.len() - TAIL_KEPT);
                }
            }
            let used = chunk.len() + usize::from(found_newline);
            self.reader.consume(used);
            if found_newline {
                break;
            }
        }
        if line.last() == Some(&b'\r') && len <= self.max {
            line.pop();
        }
        if len <= self.max {
            return Ok(Some(Line::Whole(
                String::from_utf8_lossy(&line).into_owned(),
            )));
        }
        Ok(Some(Line::Oversized {
            head: String::from_utf8_lossy(&line).into_owned(),
            tail: String::from_utf8_lossy(&tail).into_owned(),
            len,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_within_the_limit_come_whole_and_long_ones_are_cut() {
        let long = "x".repeat(20_000) + "END";
        let input = format!("short\r\n{long}\nlast");
        let mut lines = BoundedLines::new(input.as_bytes(), 100);
        assert_eq!(
            lines.next_line().await.unwrap(),
            Some(Line::Whole("short".into()))
        );
        match lines.next_line().await.unwrap() {
            Some(Line::Oversized { head, tail, len }) => {
                assert_eq!(len, 20_003);
                assert!(head.len() <= HEAD_KEPT && head.starts_with('x'));
                assert!(tail.ends_with("END") && tail.len() <= TAIL_KEPT);
            }
            other => panic!("expected an oversized line, got {other:?}"),
        }
        assert_eq!(
            lines.next_line().await.unwrap(),
            Some(Line::Whole("last".into()))
        );
        assert_eq!(lines.next_line().await.unwrap(), None);
    }
}
