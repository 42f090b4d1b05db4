//! Files written whole or not at all.
//!
//! Everything this crate writes (tagged output, models, checkpoints) goes to a
//! temporary file beside its target, which is synced and renamed onto the
//! target only when complete: a failure or a crash leaves the target as it
//! was. The target is followed through symbolic links (the link keeps
//! pointing at the new file, as with `cp`), a read-only target is refused
//! rather than replaced, and a replaced file keeps its permissions.
//!
//! Temporary files are named `.{target}.{pid}.{random}.tmp`. Those of a
//! process that was interrupted are removed by [`remove_registered`] (from a
//! signal handler); those of a killed process, by the next write to the same
//! target.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};

/// Temporary files of this process not yet renamed, for signal handlers.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Symbolic links followed at most, as the kernel allows.
const MAX_LINKS: usize = 40;

/// The file that writing to `path` really replaces: `path` itself, or the
/// file at the end of its chain of symbolic links (which need not exist
/// yet). A loop of links is an error.
pub fn resolve_target(path: &Path) -> io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = std::fs::read_link(&p)?;
                p = match p.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            _ => return Ok(p),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

fn temp_prefix(target: &Path) -> String {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".{name}.")
}

fn parent_dir(target: &Path) -> &Path {
    target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Removes temporary files left beside `target` by processes that no longer
/// run (killed before they could clean up). Best effort: errors are ignored.
fn remove_stale(target: &Path) {
    let prefix = temp_prefix(target);
    let Ok(entries) = std::fs::read_dir(parent_dir(target)) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name
            .strip_prefix(prefix.as_str())
            .and_then(|r| r.strip_suffix(".tmp"))
        else {
            continue;
        };
        let Some(pid) = rest.split('.').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !process_alive(pid) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        // Without a cheap way to ask, assume it runs: never remove a live
        // process's file.
        true
    }
}

/// Removes the temporary files of this process that were not renamed yet.
/// Meant for signal handlers, before exiting.
pub fn remove_registered() {
    let files = match PENDING.lock() {
        Ok(mut g) => std::mem::take(&mut *g),
        Err(p) => std::mem::take(&mut *p.into_inner()),
    };
    for f in files {
        let _ = std::fs::remove_file(f);
    }
}

fn register(path: &Path) {
    if let Ok(mut g) = PENDING.lock() {
        g.push(path.to_path_buf());
    }
}

fn unregister(path: &Path) {
    if let Ok(mut g) = PENDING.lock() {
        g.retain(|p| p != path);
    }
}

/// A file being written in place of `target`; [`AtomicFile::commit`] puts it
/// there. Dropped without a commit, it leaves nothing behind.
pub struct AtomicFile {
    /// The file replaced (symbolic links followed).
    target: PathBuf,
    /// The name the caller gave, for messages.
    shown: PathBuf,
    tmp: Option<tempfile::NamedTempFile>,
}

impl AtomicFile {
    /// Starts writing `path`. Fails (as a system error naming `path`) when
    /// the target is read-only or its folder cannot take a new file.
    pub fn create(path: &Path) -> Result<Self> {
        let target = resolve_target(path).map_err(|e| Error::io(path, e))?;
        if let Ok(meta) = std::fs::metadata(&target) {
            if meta.is_dir() {
                return Err(Error::io(
                    path,
                    io::Error::new(io::ErrorKind::IsADirectory, "is a folder"),
                ));
            }
            if meta.permissions().readonly() {
                return Err(Error::io(
                    path,
                    io::Error::new(
                        io::ErrorKind::PermissionDenied,
                        "read-only file, not replaced",
                    ),
                ));
            }
            // Not writable by this user (another owner's file, say): refuse as
            // `cp` would, rather than replace it through the folder.
            std::fs::OpenOptions::new()
                .write(true)
                .open(&target)
                .map_err(|e| Error::io(path, e))?;
        }
        remove_stale(&target);
        let tmp = tempfile::Builder::new()
            .prefix(&format!("{}{}.", temp_prefix(&target), std::process::id()))
            .suffix(".tmp")
            .tempfile_in(parent_dir(&target))
            .map_err(|e| Error::io(parent_dir(&target), e))?;
        register(tmp.path());
        Ok(AtomicFile {
            target,
            shown: path.to_path_buf(),
            tmp: Some(tmp),
        })
    }

    /// The temporary file's path (for writers that need a path).
    pub fn temp_path(&self) -> &Path {
        self.tmp.as_ref().map(|t| t.path()).unwrap_or(&self.target)
    }

    /// The temporary file, open for writing.
    pub fn file_mut(&mut self) -> &mut std::fs::File {
        self.tmp
            .as_mut()
            .expect("an AtomicFile is not used after commit")
            .as_file_mut()
    }

    /// Syncs the file, gives it the target's permissions (or `rw-r--r--`)
    /// and renames it onto the target. Returns the size written.
    pub fn commit(mut self) -> Result<u64> {
        let Some(tmp) = self.tmp.take() else {
            return Ok(0);
        };
        let io_err = |e| Error::io(&self.shown, e);
        // Reopen by path: a writer may have replaced the file behind the
        // handle (safetensors renames its own temporary file onto the path
        // it is given).
        let written = std::fs::File::open(tmp.path()).map_err(io_err)?;
        written.sync_all().map_err(io_err)?;
        copy_permissions(&written, &self.target).map_err(io_err)?;
        let len = written.metadata().map_err(io_err)?.len();
        let tmp_path = tmp.path().to_path_buf();
        tmp.persist(&self.target).map_err(|e| io_err(e.error))?;
        unregister(&tmp_path);
        Ok(len)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file_mut().write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file_mut().flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let Some(tmp) = self.tmp.take() {
            let path = tmp.path().to_path_buf();
            drop(tmp); // removes the file
            unregister(&path);
        }
    }
}

/// Temporary files are created readable by their owner only; what replaces
/// `target` gets the permissions (and, for root, the owner) `target` had,
/// or the usual `rw-r--r--`.
fn copy_permissions(file: &std::fs::File, target: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        match std::fs::metadata(target) {
            Ok(m) => {
                file.set_permissions(m.permissions())?;
                // Only root may give a file away; for others this is a no-op
                // when the owner is already theirs.
                let _ = std::os::unix::fs::fchown(file, Some(m.uid()), Some(m.gid()));
            }
            Err(_) => file.set_permissions(std::fs::Permissions::from_mode(0o644))?,
        }
    }
    #[cfg(not(unix))]
    let _ = (file, target);
    Ok(())
}

/// Creates `target` atomically: `fill` writes the temporary file (by handle
/// or by path), which then replaces `target` as [`AtomicFile::commit`] says.
/// Returns the size written.
pub fn write_file_atomic<E>(
    target: &Path,
    fill: impl FnOnce(&Path, &mut std::fs::File) -> std::result::Result<(), E>,
    io_err: impl Fn(io::Error) -> E,
) -> std::result::Result<u64, E> {
    // Every error of an AtomicFile is a system error.
    let to_err = |e: Error| match e {
        Error::Io { source, .. } => io_err(source),
        other => io_err(io::Error::other(other.to_string())),
    };
    let mut file = AtomicFile::create(target).map_err(to_err)?;
    let path = file.temp_path().to_path_buf();
    fill(&path, file.file_mut())?;
    file.commit().map_err(to_err)
}

/// Writes bytes to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_file_atomic(
        path,
        |_, f| f.write_all(bytes).map_err(|e| Error::io(path, e)),
        |e| Error::io(path, e),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_through_a_link_and_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.txt");
        std::fs::write(&real, "old").unwrap();
        let link = dir.path().join("link.txt");
        std::os::unix::fs::symlink("real.txt", &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
    }

    #[test]
    fn a_link_loop_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::os::unix::fs::symlink("b", &a).unwrap();
        std::os::unix::fs::symlink("a", &b).unwrap();
        assert!(write_atomic(&a, b"x").is_err());
    }

    #[test]
    fn read_only_target_is_refused_and_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("ro.txt");
        std::fs::write(&target, "keep").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o444)).unwrap();
        let err = write_atomic(&target, b"new").unwrap_err();
        assert!(err.to_string().contains("read-only"), "{err}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn replaced_file_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("m.txt");
        std::fs::write(&target, "old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&target, b"new").unwrap();
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
    }

    #[test]
    fn uncommitted_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.txt");
        {
            let mut f = AtomicFile::create(&target).unwrap();
            f.write_all(b"half").unwrap();
            assert!(PENDING
                .lock()
                .unwrap()
                .iter()
                .any(|p| p.starts_with(dir.path())));
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        assert!(!PENDING
            .lock()
            .unwrap()
            .iter()
            .any(|p| p.starts_with(dir.path())));
    }

    #[test]
    fn stale_temp_files_of_dead_processes_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.txt");
        // No process has pid 4,000,000,000 (above Linux's limit).
        let stale = dir.path().join(".out.txt.4000000000.abc123.tmp");
        std::fs::write(&stale, "left by a killed run").unwrap();
        let unrelated = dir.path().join(".other.txt.4000000000.abc123.tmp");
        std::fs::write(&unrelated, "another target's").unwrap();
        write_atomic(&target, b"done").unwrap();
        assert!(!stale.exists());
        assert!(unrelated.exists());
    }
}
