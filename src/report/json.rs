//! The JSON report: the [`RunReport`] as is, for tools (the checklist report reads it).

use super::RunReport;

/// Renders the report as pretty JSON.
pub fn render(report: &RunReport) -> String {
    render_with(report, None)
}

/// Renders the report as pretty JSON with one more top-level member (`launch_decision`:
/// the decision the checklist reached, so a tool reading only this file sees it too).
/// [`parse`] ignores the member: the checklist is always evaluated afresh.
pub fn render_with(report: &RunReport, extra: Option<(&str, serde_json::Value)>) -> String {
    // Serializing plain data with string keys cannot fail.
    let mut value = serde_json::to_value(report).unwrap_or_default();
    if let (Some((name, v)), Some(map)) = (extra, value.as_object_mut()) {
        map.insert(name.to_string(), v);
    }
    serde_json::to_string_pretty(&value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// Parses a JSON report written by [`render`].
pub fn parse(text: &str) -> Result<RunReport, serde_json::Error> {
    serde_json::from_str(text)
}
