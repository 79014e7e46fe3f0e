//! Links the module with `-z nodelete`: OpenSSL unloads providers at exit,
//! but a pthread_atfork handler (fork detection) and thread-local
//! destructors registered by Rust code must outlive any dlclose.

fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,nodelete");
}
