//! The JSON report: the [`RunReport`] as is, for tools (the checklist report reads it).

use super::RunReport;

/// Renders the report as pretty JSON.
pub fn render(report: &RunReport) -> String {
    // Serializing plain data with string keys cannot fail.
    serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// Parses a JSON report written by [`render`].
pub fn parse(text: &str) -> Result<RunReport, serde_json::Error> {
    serde_json::from_str(text)
}
