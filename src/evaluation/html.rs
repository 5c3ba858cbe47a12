//! Evaluations as HTML (the self-contained report): the one place a state becomes
//! a badge and a set of rows a table. `maud` escapes every interpolated string, so
//! text that came from a target or a client cannot become markup.

use maud::{html, Markup};

use super::{Evaluation, State, Vocabulary};

/// A table of plain-text cells shown as its own section of the HTML report.
/// Cells may hold several lines (`\n`) and `backticked` spans, shown as code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    /// One paragraph above the table (optional).
    pub intro: Option<String>,
    /// Column headings.
    pub headers: Vec<String>,
    /// Rows of cells (plain text; escaped when rendered).
    pub rows: Vec<Vec<String>>,
}

/// Text in which `backticked` spans are shown as code (as in the Markdown reports);
/// every piece is escaped.
pub fn ticks_as_code(text: &str) -> Markup {
    html! {
        @for (n, part) in text.split('`').enumerate() {
            @if n % 2 == 1 { code { (part) } } @else { (part) }
        }
    }
}

/// The state as a badge in the vocabulary's words; its class (`v-pass`, `v-fail`,
/// `v-unknown`) colours it, and an unknown is coloured open, never as a pass.
pub fn badge(vocabulary: Vocabulary, state: State) -> Markup {
    html! { span class={ "badge v-" (state.slug()) } { (vocabulary.word(state)) } }
}

/// The rows as a table: the question, its state, why (and what closes it while it is
/// open), what was measured (when anything was), and what was seen.
pub fn table(ev: &Evaluation) -> Table {
    let findings = ev.rows.iter().any(|r| !r.findings.is_empty());
    let mut headers = vec![
        ev.subject.clone(),
        ev.vocabulary.heading().to_string(),
        "Why".to_string(),
    ];
    if findings {
        headers.push("Findings".into());
    }
    headers.push("Evidence".into());
    let rows = ev
        .rows
        .iter()
        .map(|r| {
            let mut why = r.why.clone();
            if let Some(t) = r.open_settle() {
                why.push_str("\nTo close it: ");
                why.push_str(t);
            }
            let mut cells = vec![r.title.clone(), ev.word(r).to_string(), why];
            if findings {
                let f: Vec<String> = r
                    .findings
                    .iter()
                    .map(|f| format!("{}: {}", f.name, f.value))
                    .collect();
                cells.push(f.join("\n"));
            }
            let seen: Vec<String> = r
                .seen
                .iter()
                .map(|s| match s.request.as_deref().filter(|q| !q.is_empty()) {
                    Some(q) => format!("{} [{q}]", s.what),
                    None => s.what.clone(),
                })
                .collect();
            cells.push(seen.join("\n"));
            cells
        })
        .collect();
    Table {
        intro: ev.intro.clone(),
        headers,
        rows,
    }
}

/// A table as a section of the report, `id` its anchor.
pub fn section(id: &str, title: &str, t: &Table) -> Markup {
    html! {
        section id=(id) {
            h2 { (title) }
            @if let Some(i) = &t.intro { p { (ticks_as_code(i)) } }
            table {
                thead { tr { @for h in &t.headers { th { (h) } } } }
                tbody { @for r in &t.rows { tr { @for cell in r { td { (lines(cell)) } } } } }
            }
        }
    }
}

/// A cell's lines, one under the other.
fn lines(cell: &str) -> Markup {
    html! {
        @for (n, line) in cell.lines().enumerate() {
            @if n > 0 { br; }
            (ticks_as_code(line))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::sample;
    use super::*;

    #[test]
    fn badges_say_the_word_and_colour_unknown_open() {
        for v in Vocabulary::ALL {
            for s in State::ALL {
                let b = badge(v, s).into_string();
                assert_eq!(
                    b,
                    format!("<span class=\"badge v-{}\">{}</span>", s.slug(), v.word(s))
                );
            }
            let unknown = badge(v, State::Unknown).into_string();
            assert!(
                !unknown.contains("v-pass")
                    && !unknown.contains(&format!(">{}<", v.word(State::Pass)))
            );
        }
    }

    #[test]
    fn table_cells_carry_state_why_settle_findings_and_evidence() {
        for v in Vocabulary::ALL {
            let t = table(&sample(v));
            assert_eq!(
                t.headers,
                ["Question", v.heading(), "Why", "Findings", "Evidence"]
            );
            for (row, s) in t.rows.iter().zip(State::ALL) {
                assert_eq!(row[1], v.word(s));
                assert_eq!(row[3], format!("Measured: value-{}", s.slug()));
                assert_eq!(row[4], format!("seen-{0} [GET /{0}]", s.slug()));
                assert_eq!(
                    row[2].contains("To close it: settle-"),
                    s != State::Pass,
                    "{row:?}"
                );
            }
        }
        let mut ev = sample(Vocabulary::Referee);
        ev.rows.iter_mut().for_each(|r| r.findings.clear());
        assert_eq!(
            table(&ev).headers,
            ["Question", "Verdict", "Why", "Evidence"]
        );
    }

    #[test]
    fn sections_escape_cells_and_show_code_and_lines() {
        let t = Table {
            intro: Some("about `x`".into()),
            headers: vec!["h".into()],
            rows: vec![vec!["<script>x</script>\nsecond `code`".into()]],
        };
        let html = section("s", "S", &t).into_string();
        assert!(
            html.contains("&lt;script&gt;x&lt;/script&gt;<br>second <code>code</code>"),
            "{html}"
        );
        assert!(html.contains("<p>about <code>x</code></p>"), "{html}");
        assert!(!html.contains("<script>"));
    }
}
