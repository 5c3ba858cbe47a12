//! Evaluations on the console: one line per row (question, state, why), a failed
//! row followed by what was seen, so a terminal shows why without opening a report.

use super::{Evaluation, State};

/// The rows as console lines, questions aligned, each line starting with `indent`.
pub fn lines(ev: &Evaluation, indent: &str) -> Vec<String> {
    let width = ev
        .rows
        .iter()
        .map(|r| r.title.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = Vec::new();
    for r in &ev.rows {
        out.push(format!(
            "{indent}{:<width$}  {:<14} {}",
            r.title,
            ev.word(r),
            r.why
        ));
        if r.state == State::Fail {
            out.extend(r.seen.iter().map(|s| format!("{indent}    {}", s.what)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::sample;
    use super::super::Vocabulary;
    use super::*;

    #[test]
    fn each_state_is_one_aligned_line_and_a_failure_shows_what_was_seen() {
        for v in Vocabulary::ALL {
            let out = lines(&sample(v), "  ");
            assert_eq!(out.len(), 4, "{out:#?}");
            for (line, s) in [&out[0], &out[1], &out[3]].into_iter().zip(State::ALL) {
                assert!(
                    line.starts_with(&format!("  Is it {}?", s.slug())),
                    "{line}"
                );
                assert!(line.contains(&format!(" {} ", v.word(s))), "{line}");
            }
            assert_eq!(out[2], "      seen-fail");
            // The unknown's state column holds its own word, not the pass word.
            let column = out[3]["  Is it unknown?".len()..].trim_start();
            assert!(column.starts_with(v.word(State::Unknown)), "{column}");
            assert!(!column.starts_with(&format!("{} ", v.word(State::Pass))));
        }
    }
}
