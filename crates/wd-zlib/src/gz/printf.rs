//! `gzvprintf` and `gzprintf`: format with the C library's `vsnprintf`,
//! then write like `gzwrite`.
//!
//! Stable Rust cannot define a C-variadic function, so `gzprintf` is a
//! small x86_64 trampoline (a naked function) that builds the `va_list`
//! the System V ABI describes from its own arguments and calls
//! `gzvprintf`. Being a Rust item, it is exported with the other unversioned
//! names, as in zlib.

use std::ffi::{c_char, c_int, c_void};

use super::{file, gzFile};
use crate::export::guard;
use crate::ffi::Z_STREAM_ERROR;

extern "C" {
    /// C's `vsnprintf`; on x86_64 (and aarch64) a `va_list` argument is
    /// passed as a pointer, which is what `ap` is.
    fn vsnprintf(s: *mut c_char, n: usize, format: *const c_char, ap: *mut c_void) -> c_int;
}

/// `gzvprintf`: formats `format` with the arguments in `va` and writes the
/// result. The number of bytes written; 0 when the result is empty or does
/// not fit in the buffer size less one (`gzbuffer`, 8191 by default); a
/// negative zlib error code on error.
///
/// # Safety
/// `f` is NULL or a live `gzFile`; `format` and `va` are a C format string
/// and a `va_list` (as C passes it) holding the arguments it asks for.
pub unsafe extern "C" fn gzvprintf(f: gzFile, format: *const c_char, va: *mut c_void) -> c_int {
    guard(Z_STREAM_ERROR, || {
        // SAFETY: caller's contract.
        let Some(g) = (unsafe { file(f) }) else {
            return Z_STREAM_ERROR;
        };
        if !g.writable() || format.is_null() {
            return Z_STREAM_ERROR;
        }
        if g.write_init().is_err() || g.settle_zeros().is_err() {
            return g.st.err;
        }
        let size = g.st.want;
        if g.st.printf.len() != size {
            let Some(scratch) = super::state::buffer(size) else {
                g.set_error(crate::ffi::Z_MEM_ERROR, "out of memory");
                return crate::ffi::Z_MEM_ERROR;
            };
            g.st.printf = scratch;
        }
        // SAFETY: `printf` has `size` writable bytes; format and arguments are the caller's.
        let len = unsafe { vsnprintf(g.st.printf.as_mut_ptr().cast(), size, format, va) };
        // Empty, failed, or cut short by the buffer: nothing is written.
        if len <= 0 || len as usize >= size {
            return 0;
        }
        let out = std::mem::take(&mut g.st.printf);
        let written = g.write(out.as_ptr(), len as usize);
        g.st.printf = out;
        match written {
            Ok(()) => len,
            Err(_) => g.st.err,
        }
    })
}
versioned!("gzvprintf", gzvprintf);

/// `gzprintf(file, format, ...)`: `gzvprintf` with the arguments given here.
///
/// The declared parameters are only the named ones; the C caller passes
/// the rest as for any variadic function, and the trampoline hands them
/// on as a `va_list`.
///
/// # Safety
/// Called from C (or through a C-variadic function pointer) with a live
/// `gzFile` or NULL, a format string, and the arguments it asks for.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
#[no_mangle]
pub unsafe extern "C" fn gzprintf(f: gzFile, format: *const c_char) -> c_int {
    // Frame (rsp after the sub, 16-byte aligned for the call):
    //   [rsp+0, 24)    the va_list: gp_offset, fp_offset, overflow_arg_area, reg_save_area
    //   [rsp+32, 208)  the register save area: rdi rsi rdx rcx r8 r9, then xmm0-7
    //   [rsp+224, ...) the caller's stack arguments (past our return address)
    // gp_offset 16 and fp_offset 48 mark rdi/rsi as taken by the named
    // arguments and no vector register as taken.
    core::arch::naked_asm!(
        "sub rsp, 216",
        "mov [rsp + 32], rdi",
        "mov [rsp + 40], rsi",
        "mov [rsp + 48], rdx",
        "mov [rsp + 56], rcx",
        "mov [rsp + 64], r8",
        "mov [rsp + 72], r9",
        // al holds how many vector registers carry arguments: save them only then.
        "test al, al",
        "je 2f",
        "movaps [rsp + 80], xmm0",
        "movaps [rsp + 96], xmm1",
        "movaps [rsp + 112], xmm2",
        "movaps [rsp + 128], xmm3",
        "movaps [rsp + 144], xmm4",
        "movaps [rsp + 160], xmm5",
        "movaps [rsp + 176], xmm6",
        "movaps [rsp + 192], xmm7",
        "2:",
        "mov dword ptr [rsp], 16",
        "mov dword ptr [rsp + 4], 48",
        "lea rax, [rsp + 224]",
        "mov [rsp + 8], rax",
        "lea rax, [rsp + 32]",
        "mov [rsp + 16], rax",
        "mov rdx, rsp",
        "call {vprintf}",
        "add rsp, 216",
        "ret",
        vprintf = sym gzvprintf,
    )
}
