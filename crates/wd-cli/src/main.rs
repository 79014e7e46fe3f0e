mod bench;

fn main() -> anyhow::Result<()> {
    bench::selftest()
}
