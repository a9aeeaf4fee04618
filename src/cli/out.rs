//! Standard output for the subcommands. A reader that stops early (`ferry audit | head`)
//! ends the command quietly, as it ends other command-line tools, instead of the panic that
//! `println!` gives; any other failure to write is reported and exits with the I/O code.

use std::fmt;
use std::io::{ErrorKind, Write};

use super::EXIT_ERROR;

/// Writes `text` to standard output, and a line end when `line` is set.
pub fn write(text: fmt::Arguments<'_>, line: bool) {
    let mut out = std::io::stdout().lock();
    let written = out
        .write_fmt(text)
        .and_then(|()| if line { out.write_all(b"\n") } else { Ok(()) });
    if let Err(error) = written {
        stop(&error);
    }
}

/// Ends the process after a failed write to standard output.
pub fn stop(error: &std::io::Error) -> ! {
    if error.kind() == ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("error: cannot write to standard output: {error}");
    std::process::exit(i32::from(EXIT_ERROR));
}

/// Whether `error` is, at its root, standard output's reader having gone away.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == ErrorKind::BrokenPipe)
}
