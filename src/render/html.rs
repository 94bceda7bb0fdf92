//! HTML and SVG fragments: the values every display is made of (the notebook layer prints them
//! for evcxr), and the table every display uses.

use html_escape::encode_text as esc;

/// Anything that can render itself as an HTML fragment.
pub trait ToHtml {
    /// The HTML fragment.
    fn to_html(&self) -> String;
}

/// An HTML fragment, shown inline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Html(pub String);

impl ToHtml for Html {
    fn to_html(&self) -> String {
        self.0.clone()
    }
}

/// An SVG picture, shown inline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Svg(pub String);

impl Svg {
    /// The SVG markup.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Writes the picture to a file, atomically; the error names the file.
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> anyhow::Result<()> {
        crate::fsutil::write_atomic(path.as_ref(), self.0.as_bytes())
    }
}

impl std::fmt::Display for Svg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An HTML table of class `tunesmith`: escaped header cells, row cells taken as HTML.
pub fn table(headers: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    classed_table("tunesmith", headers, rows)
}

/// An HTML table of CSS class `class`: escaped header cells, row cells taken as HTML.
pub fn classed_table(
    class: &str,
    headers: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
) -> String {
    let mut html = format!("<table class=\"{class}\"><thead><tr>");
    for h in headers {
        html.push_str(&format!("<th>{}</th>", esc(h)));
    }
    html.push_str("</tr></thead><tbody>");
    for row in rows {
        html.push_str("<tr>");
        for cell in row {
            html.push_str(&format!("<td>{cell}</td>"));
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table>");
    html
}

/// Text in a `<pre>` block, escaped.
pub fn pre(text: &str) -> String {
    format!("<pre>{}</pre>", esc(text))
}
