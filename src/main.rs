//! `arabic-ner`: tag Arabic text, fine-tune and evaluate models.
//! The command line is thin: the work is in the library.

mod cli;

// Tensor ops allocate and free large buffers at a high rate; glibc's malloc
// returns them to the system each time and pays page faults on reuse.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Whether standard output was closed when the process started (`>&-`).
/// The Rust runtime puts `/dev/null` on a closed standard stream before
/// `main`, where every write would vanish without an error; the program's
/// own initializers run before that and look first.
pub static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array"]
static CHECK_STDOUT_AT_START: extern "C" fn() = check_stdout;

#[cfg(target_os = "linux")]
extern "C" fn check_stdout() {
    // SAFETY: F_GETFD only reads the flags of a descriptor, open or not.
    if unsafe { libc::fcntl(1, libc::F_GETFD) } == -1 {
        STDOUT_CLOSED.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

fn main() {
    std::process::exit(cli::run());
}
