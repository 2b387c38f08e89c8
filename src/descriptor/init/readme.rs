//! The first paragraph of a folder's README: the first run of prose lines,
//! past the title, badges, images and HTML, joined into one line.

use std::path::Path;

const NAMES: &[&str] = &[
    "README.md",
    "README",
    "README.txt",
    "README.rst",
    "readme.md",
    "Readme.md",
];

/// The longest description written (the answering agent's prompt carries it).
const MAX_CHARS: usize = 600;

pub fn first_paragraph(folder: &Path) -> Option<String> {
    let text = NAMES
        .iter()
        .find_map(|name| std::fs::read_to_string(folder.join(name)).ok())?;
    paragraph(&text)
}

fn paragraph(text: &str) -> Option<String> {
    let mut lines: Vec<&str> = Vec::new();
    let mut in_code = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("```") {
            in_code = !in_code;
            if !lines.is_empty() {
                break;
            }
            continue;
        }
        let skipped = in_code
            || line.starts_with('#')
            || line.starts_with("[!")
            || line.starts_with("![")
            || line.starts_with('<')
            || line.starts_with("===")
            || line.starts_with("---")
            || line.starts_with("mcp-name:");
        if line.is_empty() || skipped {
            if !lines.is_empty() {
                break;
            }
            continue;
        }
        lines.push(line);
    }
    let joined = lines.join(" ");
    let mut text: String = joined.chars().take(MAX_CHARS).collect();
    if text.len() < joined.len() {
        text.push_str("...");
    }
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_prose_paragraph_past_titles_and_badges() {
        let text = "# Tool\n\n[![ci](x)](y)\n\nExtracts text\nfrom PDFs.\n\nMore.\n";
        assert_eq!(paragraph(text).as_deref(), Some("Extracts text from PDFs."));
        assert_eq!(paragraph("# Only a title\n"), None);
        assert_eq!(
            paragraph("```\ncode\n```\nAfter code.\n").as_deref(),
            Some("After code.")
        );
    }
}
