//! A password typed on the terminal, not echoed. Echo is turned off before the prompt is shown,
//! so that nothing typed after the prompt appears, however fast it comes.

use std::{
    fs::File,
    io::{BufRead, BufReader, Write},
    os::fd::AsRawFd,
};

use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};

/// Reads one line from the controlling terminal after showing `prompt`, with echo off.
pub fn password(prompt: &str) -> std::io::Result<String> {
    let tty = std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty")?;
    let fd = tty.as_raw_fd();
    let original = tcgetattr(fd).map_err(std::io::Error::from)?;
    let mut hidden = original.clone();
    hidden.local_flags.remove(LocalFlags::ECHO);
    hidden.local_flags.insert(LocalFlags::ECHONL);
    tcsetattr(fd, SetArg::TCSANOW, &hidden).map_err(std::io::Error::from)?;
    let line = read_line(&tty, prompt);
    // Echo comes back whatever happened.
    let restored = tcsetattr(fd, SetArg::TCSANOW, &original).map_err(std::io::Error::from);
    let line = line?;
    restored?;
    Ok(line)
}

fn read_line(tty: &File, prompt: &str) -> std::io::Result<String> {
    let mut writer = tty;
    writer.write_all(prompt.as_bytes())?;
    writer.flush()?;
    let mut line = String::new();
    BufReader::new(tty).read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}
