//! Routing decisions and zlib's bound formulas.

use crate::oneshot::Wrap;
use crate::route::{self, deflate_wrap, engine_for, Config, Engine, Mode, Route};

/// The engine when a core is free.
fn compress_engine(cfg: Config, level: i32, n: usize) -> Engine {
    engine_for(cfg, level, n, || true)
}

#[test]
fn env_settings_parse() {
    assert_eq!(Config::parse(None, None), Config { mode: Mode::Auto, threshold: route::DEFAULT_THRESHOLD });
    assert_eq!(Config::parse(Some("inline"), Some("1000")), Config { mode: Mode::Inline, threshold: 1000 });
    assert_eq!(Config::parse(Some(" device "), Some("x")).mode, Mode::Device);
    assert_eq!(Config::parse(Some("bogus"), Some(" 77 ")), Config { mode: Mode::Auto, threshold: 77 });
}

#[test]
fn engines_by_mode_level_and_size() {
    let auto = Config { mode: Mode::Auto, threshold: 1 << 20 };
    // Level 0 (stored) and out-of-range levels stay with zlib-rs.
    assert_eq!(compress_engine(auto, 0, 10 << 20), Engine::Zlib);
    // Small calls never touch the device.
    for level in 1..=9 {
        assert_eq!(compress_engine(auto, level, 1000), Engine::Inline, "level {level}");
    }
    // Large: the device only where it wins.
    assert_eq!(compress_engine(auto, 9, 2 << 20), Engine::Device);
    assert_eq!(compress_engine(auto, 8, 1 << 20), Engine::Device);
    assert_eq!(compress_engine(auto, 6, 64 << 20), Engine::Inline);
    assert_eq!(compress_engine(auto, 1, 64 << 20), Engine::Inline);
    let inline = Config { mode: Mode::Inline, threshold: 0 };
    assert_eq!(compress_engine(inline, 9, 64 << 20), Engine::Inline);
    let device = Config { mode: Mode::Device, threshold: usize::MAX };
    assert_eq!(compress_engine(device, 1, 100), Engine::Device);
    assert_eq!(compress_engine(device, 0, 100), Engine::Zlib);
    // Tiny inputs: zlib-rs (libdeflate would store them).
    assert_eq!(compress_engine(device, 6, route::TINY - 1), Engine::Zlib);
    assert_eq!(compress_engine(auto, 6, route::TINY), Engine::Inline);
    // A busy machine: no second core for parallel blocks, unless forced.
    assert_eq!(engine_for(auto, 9, 64 << 20, || false), Engine::Inline);
    assert_eq!(engine_for(device, 9, 64 << 20, || false), Engine::Device);
    assert_eq!(crate::device::device_level(1), 2);
    assert_eq!(crate::device::device_level(8), 9);
    assert_eq!(crate::device::device_level(6), 6);
}

#[test]
fn deflate_one_shot_only_with_a_32k_window() {
    assert_eq!(deflate_wrap(15), Some(Wrap::Zlib));
    assert_eq!(deflate_wrap(31), Some(Wrap::Gzip));
    assert_eq!(deflate_wrap(-15), Some(Wrap::Raw));
    for w in [9, 14, 25, -9, -14] {
        assert_eq!(deflate_wrap(w), None, "{w}");
    }
}

#[test]
fn bounds_are_zlibs() {
    // The values the system zlib 1.2.13 returns.
    assert_eq!(crate::compressBound(12345), 12361);
    let r = Route::new(6, 31, 8, 0);
    assert_eq!(route::zlib_bound(&r, 1000, false), 1025);
    let r = Route::new(6, 15, 8, 0);
    assert_eq!(route::zlib_bound(&r, 1000, false), 1013);
    assert_eq!(route::zlib_bound(&r, 1000, true), 1017);
    // Non-default memLevel: the conservative bounds.
    let r = Route::new(6, 15, 9, 0);
    assert_eq!(route::zlib_bound(&r, 1000, false), 1000 + 125 + 3 + 1 + 4 + 6);
    // SAFETY: a null stream is allowed.
    assert_eq!(unsafe { crate::deflateBound(std::ptr::null_mut(), 1000) }, 1139);
}

#[test]
fn checksums_of_trailers() {
    let data = super::sample(10_000);
    let z = crate::oneshot::compress_vec(6, Wrap::Zlib, &data).expect("compress");
    let g = crate::oneshot::compress_vec(6, Wrap::Gzip, &data).expect("compress");
    assert_eq!(route::trailer_check(Wrap::Zlib, &z), Some(zlib_rs::adler32::adler32(1, &data)));
    assert_eq!(route::trailer_check(Wrap::Gzip, &g), Some(zlib_rs::crc32::crc32(0, &data)));
    // zlib's own gzip header bytes.
    assert_eq!(&g[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
}

#[test]
fn data_type_is_zlibs_guess() {
    assert_eq!(route::data_type(b"plain text\r\n\twith tabs"), crate::ffi::Z_TEXT);
    assert_eq!(route::data_type(b"text with a bell \x07 and escape \x1b"), crate::ffi::Z_TEXT);
    assert_eq!(route::data_type(b"text then a NUL \x00"), crate::ffi::Z_BINARY);
    assert_eq!(route::data_type(&[7, 8, 11]), crate::ffi::Z_BINARY);
    // Through deflate: the one-shot sets it as zlib's first block would.
    let text = super::sample(3000).iter().map(|&b| if b < 32 { b' ' } else { b }).collect::<Vec<u8>>();
    let mut s = super::Strm::deflate_init(6, 15);
    let mut out = vec![0u8; 10_000];
    s.io(&text, &mut out);
    assert_eq!(s.deflate(crate::ffi::Z_FINISH), crate::ffi::Z_STREAM_END);
    assert_eq!(s.0.data_type, crate::ffi::Z_TEXT);
    // SAFETY: live stream.
    unsafe { crate::deflateEnd(s.ptr()) };
}
