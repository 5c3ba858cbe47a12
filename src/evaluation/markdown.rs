//! Evaluations as Markdown (a pull-request comment, a CI job summary): the one
//! place a state, a row or a table of rows becomes Markdown.

use std::fmt::Write as _;

use super::{Evaluation, State, Vocabulary};

/// The state as Markdown: the checklist marks it (`✅ verified`, `⚠️ not verified`),
/// the scorecard and the referee embolden it (`**yes**`, `**could not tell**`).
pub fn label(vocabulary: Vocabulary, state: State) -> String {
    match vocabulary {
        Vocabulary::Checklist => format!("{} {}", state.mark(), vocabulary.word(state)),
        Vocabulary::Scorecard | Vocabulary::Referee | Vocabulary::Decision => {
            format!("**{}**", vocabulary.word(state))
        }
    }
}

/// Text made safe for one table cell: no pipe ends it, no newline breaks it.
pub fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// One line per row, `Title label: why`: how a short rendering leads.
pub fn lead_lines(ev: &Evaluation) -> Vec<String> {
    ev.rows
        .iter()
        .map(|r| format!("{} {}: {}", r.title, label(ev.vocabulary, r.state), r.why))
        .collect()
}

/// The rows as a numbered table: question, state, why, and the request that
/// showed it when some row has one.
pub fn table(ev: &Evaluation) -> String {
    let shown = ev.rows.iter().any(|r| r.shown.is_some());
    let mut s = format!("| # | {} | {} | Why |", ev.subject, ev.vocabulary.heading());
    s.push_str(if shown {
        " Request that showed it |\n|---|---|---|---|---|\n"
    } else {
        "\n|---|---|---|---|\n"
    });
    for (n, r) in ev.rows.iter().enumerate() {
        let _ = write!(
            s,
            "| {} | {} | {} | {} |",
            n + 1,
            cell(&r.title),
            label(ev.vocabulary, r.state),
            cell(&r.why)
        );
        if shown {
            let request = r.shown.as_deref().map(|q| format!("`{}`", cell(q)));
            let _ = write!(s, " {} |", request.unwrap_or_default());
        }
        s.push('\n');
    }
    s
}

/// One section per row: its state, what would settle it while it is open, what was
/// measured, and everything seen (with the request that showed it).
pub fn sections(ev: &Evaluation) -> String {
    let mut s = String::new();
    for r in &ev.rows {
        let _ = write!(s, "\n## {} {}\n\n", r.title, label(ev.vocabulary, r.state));
        if let Some(t) = r.open_settle() {
            let _ = write!(s, "To close it: {}\n\n", cell(t));
        }
        for f in &r.findings {
            let _ = writeln!(s, "- {}: {}", f.name, cell(&f.value));
        }
        if !r.findings.is_empty() {
            s.push('\n');
        }
        if r.seen.is_empty() {
            let _ = writeln!(s, "- {}", ev.nothing_seen);
        }
        for seen in &r.seen {
            let _ = writeln!(s, "- {}", cell(&seen.what));
            if let Some(q) = seen.request.as_deref().filter(|q| !q.is_empty()) {
                let _ = writeln!(s, "  - request: `{}`", cell(q));
            }
        }
    }
    s
}

/// The rows that are not a pass, each with why, what closes it and what was seen:
/// the "what is left" list.
pub fn open_rows(ev: &Evaluation) -> String {
    let mut s = String::new();
    for r in ev.rows.iter().filter(|r| r.state != State::Pass) {
        let _ = writeln!(
            s,
            "- **{}** ({}): {}",
            r.title,
            label(ev.vocabulary, r.state),
            r.why
        );
        if let Some(t) = r.open_settle() {
            let _ = writeln!(s, "  - To close it: {t}");
        }
        for seen in &r.seen {
            let _ = writeln!(s, "  - {}", seen.what);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::super::tests::sample;
    use super::*;

    #[test]
    fn each_state_reads_in_its_vocabulary() {
        let want = [
            (
                Vocabulary::Checklist,
                ["✅ verified", "❌ failed", "⚠️ not verified"],
            ),
            (
                Vocabulary::Scorecard,
                ["**yes**", "**no**", "**could not tell**"],
            ),
            (
                Vocabulary::Referee,
                ["**pass**", "**fail**", "**not exercised**"],
            ),
        ];
        for (v, labels) in want {
            let got: Vec<String> = State::ALL.iter().map(|&s| label(v, s)).collect();
            assert_eq!(got, labels);
        }
    }

    #[test]
    fn table_rows_show_each_state_and_escape_cells() {
        for v in Vocabulary::ALL {
            let ev = sample(v);
            let md = table(&ev);
            let lines: Vec<&str> = md.lines().collect();
            assert_eq!(
                lines[0],
                format!(
                    "| # | Question | {} | Why | Request that showed it |",
                    v.heading()
                )
            );
            for (n, s) in State::ALL.iter().enumerate() {
                let row = lines[2 + n];
                assert!(row.contains(&format!("| {} |", label(v, *s))), "{row}");
                assert!(row.contains("\\| was seen"), "pipes escaped: {row}");
                assert!(row.ends_with(&format!("`GET /{}` |", s.slug())), "{row}");
            }
            // An unknown never reads as a pass.
            let unknown = lines[4];
            assert!(!unknown.contains(&label(v, State::Pass)), "{unknown}");
        }
    }

    #[test]
    fn sections_and_open_rows_say_what_settles_an_open_row() {
        let ev = sample(Vocabulary::Scorecard);
        let md = sections(&ev);
        assert!(
            md.contains("\n## Is it unknown? **could not tell**\n\nTo close it: settle-unknown\n"),
            "{md}"
        );
        assert!(
            md.contains("\n## Is it fail? **no**\n\nTo close it: settle-fail\n"),
            "{md}"
        );
        assert!(
            !md.contains("settle-pass"),
            "a pass needs no settling: {md}"
        );
        assert!(md.contains("- Measured: value-pass\n"), "{md}");
        assert!(
            md.contains("- seen-unknown\n  - request: `GET /unknown`\n"),
            "{md}"
        );
        let lead = lead_lines(&ev);
        assert_eq!(
            lead[2],
            "Is it unknown? **could not tell**: because `unknown` | was seen"
        );

        let open = open_rows(&sample(Vocabulary::Checklist));
        assert!(!open.contains("Is it pass?"), "{open}");
        assert!(
            open.contains("- **Is it unknown?** (⚠️ not verified): because"),
            "{open}"
        );
        assert!(
            open.contains("  - To close it: settle-unknown\n  - seen-unknown\n"),
            "{open}"
        );
    }

    #[test]
    fn a_row_with_nothing_seen_says_so() {
        let mut ev = sample(Vocabulary::Scorecard);
        ev.rows[2].seen.clear();
        assert!(sections(&ev).contains("**could not tell**\n\nTo close it: settle-unknown\n\n- Measured: value-unknown\n\n- no probe ran\n"));
    }
}
