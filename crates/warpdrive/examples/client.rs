//! A client of warpd and nothing else: what a program built on
//! `warpdrive` without its `embedded` feature links (compare the size of
//! this binary built with `--no-default-features` and without).
//!
//! ```sh
//! WARPD_SOCKET=/tmp/warpd.sock cargo run -p warpdrive --no-default-features --example client
//! ```

fn main() -> Result<(), warpdrive::Error> {
    let rt = warpdrive::Runtime::new()?;
    for d in rt.devices()? {
        println!("{} ({}): {} ops", d.name, d.driver, d.ops.len());
    }
    let mut q = rt.queue("dma")?;
    let src = b"hello from a client that links no driver".to_vec();
    let mut dst = vec![0u8; src.len()];
    q.copy(&src, &mut dst)?;
    assert_eq!(src, dst);
    println!("dma copy of {} bytes: ok, crc32c {:#010x}", src.len(), q.crc32c(&src, 0)?);
    Ok(())
}
