//! A minimal POSIX (ustar) tar writer: the model directory `POST /model/train` sends back,
//! as Rasa sends its model archive.

use std::io;
use std::path::Path;

/// The regular files directly in `dir` (sorted by name), as an uncompressed tar archive whose
/// entries are `<prefix>/<file>`.
pub(crate) fn tar_dir(dir: &Path, prefix: &str) -> io::Result<Vec<u8>> {
    let mut names: Vec<(String, std::path::PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            if let Some(name) = entry.file_name().to_str() {
                names.push((name.to_string(), entry.path()));
            }
        }
    }
    names.sort();
    let mut out = Vec::new();
    for (name, path) in names {
        let data = std::fs::read(&path)?;
        let full = format!("{prefix}/{name}");
        out.extend_from_slice(&header(&full, data.len() as u64)?);
        out.extend_from_slice(&data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    // two zero blocks end the archive
    out.resize(out.len() + 1024, 0);
    Ok(out)
}

fn header(name: &str, size: u64) -> io::Result<[u8; 512]> {
    if name.len() > 100 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("file name longer than 100 bytes for tar: {name}"),
        ));
    }
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    let octal = |field: &mut [u8], value: u64| {
        let s = format!("{value:0width$o}\0", width = field.len() - 1);
        field.copy_from_slice(s.as_bytes());
    };
    octal(&mut h[100..108], 0o644); // mode
    octal(&mut h[108..116], 0); // uid
    octal(&mut h[116..124], 0); // gid
    octal(&mut h[124..136], size);
    let mtime = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    octal(&mut h[136..148], mtime);
    h[156] = b'0'; // regular file
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    // the checksum is computed with its own field as spaces
    h[148..156].copy_from_slice(b"        ");
    let sum: u64 = h.iter().map(|&b| u64::from(b)).sum();
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(s.as_bytes());
    Ok(h)
}

#[cfg(test)]
mod tests {
    #[test]
    fn archive_has_headers_padding_and_end_blocks() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), b"hello").unwrap();
        let tar = super::tar_dir(dir.path(), "m").unwrap();
        assert_eq!(tar.len(), 512 + 512 + 1024);
        assert_eq!(&tar[..7], b"m/a.txt");
        assert_eq!(&tar[257..262], b"ustar");
        assert_eq!(&tar[512..517], b"hello");
    }
}
