//! `arabic-ner`: tag Arabic text, fine-tune and evaluate models.
//! The command line is thin: the work is in the library.

mod cli;

// Tensor ops allocate and free large buffers at a high rate; glibc's malloc
// returns them to the system each time and pays page faults on reuse.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(cli::run());
}
