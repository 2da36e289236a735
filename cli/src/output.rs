//! How a command speaks: with `--json`, exactly one JSON document on stdout (or one JSON line per
//! event for the commands that follow something: `customer wait`, `agent run`) and nothing else;
//! without, text for people (aligned tables). Errors go to stderr, as
//! `{"error": {"kind": …, "message": …, "hint": …}}` with `--json`, else as one line.

use std::{
    fmt::Display,
    io::{IsTerminal, Write},
    process::ExitCode,
    time::Duration,
};

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::exit::Kind;

/// The output mode of a run.
/// The output could not be written (stdout closed, a full disk).
#[derive(Debug, thiserror::Error)]
#[error("cannot write the output: {0}")]
pub struct OutputError(#[from] pub std::io::Error);

#[derive(Clone, Copy, Debug, Default)]
pub struct Frame {
    json: bool,
}

/// An error as `--json` prints it on stderr.
#[derive(Debug, Serialize)]
struct ErrorDocument<'a> {
    error: ErrorBody<'a>,
}

#[derive(Debug, Serialize)]
struct ErrorBody<'a> {
    kind: Kind,
    message: &'a str,
    hint: Option<&'a str>,
}

impl Frame {
    /// The frame of `--json` (or not).
    pub fn new(json: bool) -> Self {
        Self { json }
    }

    /// Whether output is JSON.
    pub fn is_json(self) -> bool {
        self.json
    }

    /// Prints the command's result: one JSON document, or its text.
    pub fn emit<R: Serialize + Display>(self, report: &R) -> Result<(), OutputError> {
        let mut out = std::io::stdout().lock();
        if self.json {
            serde_json::to_writer(&mut out, report).map_err(|e| OutputError(e.into()))?;
            writeln!(out).map_err(OutputError)?;
        } else {
            write!(out, "{report}").map_err(OutputError)?;
        }
        out.flush().map_err(OutputError)
    }

    /// Prints one event of a stream: a JSON line, or its text line, flushed at once.
    pub fn event<R: Serialize + Display>(self, event: &R) -> Result<(), OutputError> {
        let mut out = std::io::stdout().lock();
        if self.json {
            serde_json::to_writer(&mut out, event).map_err(|e| OutputError(e.into()))?;
        } else {
            write!(out, "{event}").map_err(OutputError)?;
        }
        writeln!(out).map_err(OutputError)?;
        out.flush().map_err(OutputError)
    }

    /// Text for people only (progress, a next step); nothing with `--json`.
    pub fn say(self, text: impl Display) {
        if !self.json {
            println!("{text}");
        }
    }

    /// Text for people, as it is (no newline added); nothing with `--json`.
    pub fn print(self, text: impl Display) {
        if !self.json {
            print!("{text}");
        }
    }

    /// The command's JSON document, for a command whose text was printed as it went
    /// ([`Frame::say`]): printed with `--json` only.
    pub fn emit_json<R: Serialize>(self, report: &R) -> Result<(), OutputError> {
        if !self.json {
            return Ok(());
        }
        let mut out = std::io::stdout().lock();
        serde_json::to_writer(&mut out, report).map_err(|e| OutputError(e.into()))?;
        writeln!(out).map_err(OutputError)?;
        out.flush().map_err(OutputError)
    }

    /// A progress bar on stderr counting to `length`, only on a terminal and never with `--json`.
    pub fn progress(self, length: u64, message: impl Into<String>) -> Option<ProgressBar> {
        if self.json || !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::new(length).with_message(message.into());
        if let Ok(style) =
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed}, {eta} left)")
        {
            bar.set_style(style);
        }
        Some(bar)
    }

    /// A spinner on stderr saying `message`, only on a terminal and never with `--json`.
    pub fn spinner(self, message: impl Into<String>) -> Option<ProgressBar> {
        if self.json || !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::new_spinner().with_message(message.into());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        Some(bar)
    }

    /// Prints an error of `kind` on stderr and gives its exit code.
    pub fn report_error(self, kind: Kind, message: &str, hint: Option<&str>) -> ExitCode {
        let mut err = std::io::stderr().lock();
        if self.json {
            let document = ErrorDocument { error: ErrorBody { kind, message, hint } };
            let text = serde_json::to_string(&document)
                .unwrap_or_else(|_| format!("{{\"error\":{{\"kind\":\"failed\",\"message\":{message:?}}}}}"));
            let _ = writeln!(err, "{text}");
        } else {
            match hint {
                Some(hint) => {
                    let _ = writeln!(err, "snm: {message} ({hint})");
                }
                None => {
                    let _ = writeln!(err, "snm: {message}");
                }
            }
        }
        kind.exit_code()
    }
}
