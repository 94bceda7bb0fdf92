//! Figures as an HTML table (shown inline in a notebook) or a Markdown table (for docs).

use crate::render::Html;
use html_escape::encode_text as esc;

/// A table of figures: a header row and rows of text cells (escaped for HTML).
pub fn figures_table(headers: &[&str], rows: &[Vec<String>]) -> Html {
    let escaped = rows
        .iter()
        .map(|row| row.iter().map(|cell| esc(cell).into_owned()).collect());
    Html(crate::render::classed_table(
        "tunesmith-figures",
        headers,
        escaped,
    ))
}

/// The same table in Markdown.
pub fn figures_markdown(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!(
        "| {} |\n|{}\n",
        headers.join(" | "),
        "---|".repeat(headers.len())
    );
    for row in rows {
        out.push_str(&format!("| {} |\n", row.join(" | ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_and_markdown_tables() {
        let rows = vec![vec!["JSB <test>".to_string(), "8.45".to_string()]];
        let html = figures_table(&["data", "NLL"], &rows).0;
        assert!(html.contains("<th>data</th><th>NLL</th>"));
        assert!(html.contains("<td>JSB &lt;test&gt;</td><td>8.45</td>"));
        assert_eq!(
            figures_markdown(&["data", "NLL"], &rows),
            "| data | NLL |\n|---|---|\n| JSB <test> | 8.45 |\n"
        );
    }
}
