//! Files the agent writes: replaced whole, never seen half written.

use std::{
    fs::{self, File},
    io::{self, Write},
    path::Path,
};

/// Replaces `path` with `contents` so that a crash leaves either the old or the new file.
pub(crate) fn write_atomically(path: &Path, contents: &[u8]) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let tmp = path.with_file_name(name);
    let mut file = File::create(&tmp)?;
    file.write_all(contents)?;
    file.sync_all()?;
    fs::rename(&tmp, path)
}
