"""Python's zlib and gzip modules against a zlib, for wd-zlib's tests.

  zlib_py.py produce DIR   compress a corpus every way the modules allow,
                           check each result round-trips here, and write
                           the streams and a manifest into DIR
  zlib_py.py consume DIR   decompress DIR's streams every way they allow
                           and compare with the corpus

Run one step with wd-zlib preloaded and the other without, and both ways
round: each library must read the other's output. --expect ours|system
fails unless the zlib loaded is libwdz.so (ours) or is not (system),
read from /proc/self/maps. Exit status 1 on any failure, each printed.
"""
import gzip
import io
import json
import os
import random
import struct
import sys
import zlib

FAILURES = []


def fail(what):
    FAILURES.append(what)
    print("FAIL " + what, file=sys.stderr)


def check(cond, what):
    if not cond:
        fail(what)


def corpus():
    """Deterministic inputs: text, binary, runs, incompressible, small."""
    rnd = random.Random(20261203)
    words = ("queue device ring the of deflate window stream block and a "
             "descriptor completion zlib buffer to memory engine").split()
    text = " ".join(rnd.choice(words) for _ in range(14000)).encode()
    binary = bytes(rnd.getrandbits(8) if rnd.random() < 0.3 else (i * 7) & 0xFF for i in range(60000))
    noise = rnd.randbytes(20000)
    runs = b"".join(bytes([rnd.getrandbits(8)]) * rnd.randint(1, 300) for _ in range(300))
    return {
        "text": text,
        "binary": binary,
        "noise": noise,
        "runs": runs,
        "small": text[:700],
        "one": b"x",
        "empty": b"",
    }


def loaded_zlib():
    with open("/proc/self/maps") as f:
        libs = {line.split()[-1] for line in f if line.rstrip().endswith(".so") or ".so." in line}
    return sorted(p for p in libs if "libz" in os.path.basename(p) or "libwdz" in os.path.basename(p))


def check_expect(expect):
    libs = loaded_zlib()
    print("zlib runtime %s, loaded: %s" % (zlib.ZLIB_RUNTIME_VERSION, ", ".join(libs)))
    ours = any("libwdz" in os.path.basename(p) for p in libs)
    if expect == "ours":
        check(ours, "libwdz.so is not mapped: the preload did not take effect (%s)" % libs)
    elif expect == "system":
        check(not ours, "libwdz.so is mapped without a preload (%s)" % libs)


def wrap_raw(raw, data, form):
    """A zlib or gzip stream around raw deflate data whose distances fit a
    256-byte window (compressed with wbits -9): what wbits 40 must read."""
    if form == "zlib":
        cmf = 0x08  # deflate, CINFO 0: a 256-byte window
        flg = (31 - (cmf * 256) % 31) % 31
        return bytes([cmf, flg]) + raw + struct.pack(">I", zlib.adler32(data))
    head = b"\x1f\x8b\x08\x00" + b"\x00" * 4 + b"\x00\xff"
    return head + raw + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)


def inflate_max_length(z, wbits, step, zdict=None):
    d = zlib.decompressobj(wbits, zdict=zdict) if zdict is not None else zlib.decompressobj(wbits)
    out = [d.decompress(z, step)]
    guard = 0
    while d.unconsumed_tail and guard < 10_000_000:
        out.append(d.decompress(d.unconsumed_tail, step))
        guard += 1
    out.append(d.flush())
    return b"".join(out), d


def produce(outdir):
    data = corpus()
    dictionary = data["text"][-3000:]
    manifest = []

    def emit(name, z, item, **kw):
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(z)
        entry = {"file": name, "item": item}
        entry.update(kw)
        manifest.append(entry)

    for item, src in data.items():
        for level in range(-1, 10):
            z = zlib.compress(src, level)
            check(zlib.decompress(z) == src, "compress level %d %s: round trip" % (level, item))
            emit("c-%s-%d" % (item, level), z, item, wbits=15, kind="compress")
        forms = list(range(-15, -8)) + list(range(9, 16)) + list(range(25, 32))
        for i, wbits in enumerate(forms):
            level = i % 10
            # One-shot with wbits (compress2's whole-input path is deflate
            # with Z_FINISH on the first call).
            z = zlib.compress(src, level, wbits)
            check(zlib.decompress(z, wbits) == src, "compress wbits %d %s: round trip" % (wbits, item))
            emit("w-%s-%d" % (item, wbits), z, item, wbits=wbits, kind="wbits")
        # Streaming with each flush mode between 1000-byte chunks.
        for mode in ("Z_NO_FLUSH", "Z_PARTIAL_FLUSH", "Z_SYNC_FLUSH", "Z_FULL_FLUSH", "Z_BLOCK"):
            for level in (0, 1, 6, 9):
                for wbits in (-15, 15, 31):
                    co = zlib.compressobj(level, zlib.DEFLATED, wbits)
                    parts, marks = [], []
                    for off in range(0, len(src), 1000):
                        parts.append(co.compress(src[off:off + 1000]))
                        parts.append(co.flush(getattr(zlib, mode)))
                        marks.append([sum(map(len, parts)), min(off + 1000, len(src))])
                    parts.append(co.flush())
                    z = b"".join(parts)
                    check(zlib.decompress(z, wbits) == src, "compressobj %s level %d wbits %d %s" % (mode, level, wbits, item))
                    if mode in ("Z_PARTIAL_FLUSH", "Z_SYNC_FLUSH", "Z_FULL_FLUSH"):
                        check_marks(z, wbits, marks, src, "compressobj %s %s here" % (mode, item))
                    else:
                        marks = []
                    emit("f-%s-%s-%d-%d" % (item, mode, level, wbits), z, item, wbits=wbits, kind="flush", marks=marks)
        # A preset dictionary.
        co = zlib.compressobj(9, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY, dictionary)
        z = co.compress(src) + co.flush()
        emit("d-%s" % item, z, item, wbits=15, kind="dict")
        # Streams with a 256-byte window (for wbits 40).
        raw = zlib.compress(src, 9, -9)
        emit("s-%s-zlib" % item, wrap_raw(raw, src, "zlib"), item, wbits=8, kind="small-window")
        emit("s-%s-gzip" % item, wrap_raw(raw, src, "gzip"), item, wbits=24, kind="small-window")
        # gzip module: one-shot and a GzipFile written in pieces.
        for level in range(0, 10):
            z = gzip.compress(src, level, mtime=0)
            check(gzip.decompress(z) == src, "gzip.compress level %d %s" % (level, item))
            emit("g-%s-%d" % (item, level), z, item, wbits=31, kind="gzip")
        buf = io.BytesIO()
        with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=6, mtime=0) as g:
            for off in range(0, len(src), 777):
                g.write(src[off:off + 777])
                if off % 7 == 0:
                    g.flush()
        emit("gf-%s" % item, buf.getvalue(), item, wbits=31, kind="gzip")
    with open(os.path.join(outdir, "manifest.json"), "w") as f:
        json.dump(manifest, f)
    print("produced %d streams" % len(manifest))


def check_marks(z, wbits, marks, src, what):
    """After a partial, sync or full flush everything given so far must
    come out of the output so far."""
    d = zlib.decompressobj(wbits)
    got, used = b"", 0
    for end, n in marks:
        got += d.decompress(z[used:end])
        used = end
        if got != src[:n]:
            fail("%s: after %d input bytes got %d bytes" % (what, n, len(got)))
            return


def consume(indir):
    data = corpus()
    dictionary = data["text"][-3000:]
    with open(os.path.join(indir, "manifest.json")) as f:
        manifest = json.load(f)
    n = 0
    for e in manifest:
        with open(os.path.join(indir, e["file"]), "rb") as f:
            z = f.read()
        src, wbits, kind, what = data[e["item"]], e["wbits"], e["kind"], e["file"]
        n += 1
        if kind == "dict":
            got, d = inflate_max_length(z, 15, 4096, zdict=dictionary)
            check(got == src and d.eof, what + ": with zdict")
            try:
                zlib.decompress(z)
                fail(what + ": no dictionary given yet no error")
            except zlib.error as err:
                check("Error 2 while decompressing data" in str(err), what + ": %s" % err)
            continue
        if kind == "small-window":
            for w in range(40, 48):
                try:
                    check(zlib.decompress(z, w) == src, "%s: wbits %d" % (what, w))
                except zlib.error as err:
                    fail("%s: wbits %d: %s" % (what, w, err))
            if wbits == 8:
                check(zlib.decompress(z, 0) == src, what + ": wbits 0")
            continue
        if kind == "gzip":
            check(gzip.decompress(z) == src, what + ": gzip.decompress")
            with gzip.GzipFile(fileobj=io.BytesIO(z)) as g:
                parts = []
                while True:
                    b = g.read(1000)
                    if not b:
                        break
                    parts.append(b)
            check(b"".join(parts) == src, what + ": GzipFile.read")
        check(zlib.decompress(z, wbits) == src, "%s: wbits %d" % (what, wbits))
        if wbits > 0:
            lo = (wbits & 15)
            for w in range(32 + max(lo, 8), 48):
                check(zlib.decompress(z, w) == src, "%s: auto wbits %d" % (what, w))
        for step in (1, 100, 65536):
            if step == 1 and len(src) > 2000:
                continue
            got, d = inflate_max_length(z, wbits, step)
            check(got == src and d.eof and d.unused_data == b"", "%s: decompressobj max_length %d" % (what, step))
        if e.get("marks"):
            check_marks(z, wbits, e["marks"], src, what)
        # Trailing garbage is left in unused_data.
        d = zlib.decompressobj(wbits)
        got = d.decompress(z + b"TRAILER")
        check(got == src and d.eof and d.unused_data == b"TRAILER", what + ": trailing bytes")
    # zlib's error codes and messages for broken input.
    good = zlib.compress(data["text"])
    cases = [
        (b"\x78\x9d\x00\x00", 15, "Error -3 while decompressing data: incorrect header check"),
        (b"\x79\x18\x00\x00", 15, "Error -3 while decompressing data: unknown compression method"),
        (b"\x07\x00", -15, "Error -3 while decompressing data: invalid block type"),
        (b"\x01\x05\x00\x00\x00", -15, "Error -3 while decompressing data: invalid stored block lengths"),
        (b"\x03\x02\x00", -15, "Error -3 while decompressing data: invalid distance too far back"),
        (good[:-1] + bytes([good[-1] ^ 1]), 15, "Error -3 while decompressing data: incorrect data check"),
        (good[:len(good) // 2], 15, "Error -5 while decompressing data: incomplete or truncated stream"),
        (b"", 15, "Error -5 while decompressing data: incomplete or truncated stream"),
        # A damaged stream (found by fuzz/zlib_diff) whose adler32 still
        # matches what a lenient decoder makes of it.
        (bytes.fromhex("189535c5310d00201004b0bbe40de05f0cc60865224b27c559bd36268514f9c103e53419c1"), 15,
         "Error -3 while decompressing data: invalid distance code"),
    ]
    for z, w, msg in cases:
        try:
            zlib.decompress(z, w)
            fail("broken input %r... accepted" % z[:8])
        except zlib.error as err:
            check(str(err) == msg, "broken input %r...: %r, want %r" % (z[:8], str(err), msg))
    try:
        zlib.compress(b"x", 10)
        fail("level 10 accepted")
    except zlib.error as err:
        check(str(err) == "Bad compression level", "level 10: %s" % err)
    for w in (7, -7, -16, 16 + 7, 48, 64):
        try:
            zlib.decompressobj(w)
            fail("decompressobj(%d) accepted" % w)
        except ValueError as err:
            check("Invalid initialization option" in str(err), "decompressobj(%d): %s" % (w, err))
    check(zlib.crc32(data["text"][5000:], zlib.crc32(data["text"][:5000])) == zlib.crc32(data["text"]), "crc32 running")
    check(zlib.adler32(data["text"][5000:], zlib.adler32(data["text"][:5000])) == zlib.adler32(data["text"]), "adler32 running")
    check(zlib.crc32(b"123456789") == 0xCBF43926, "crc32 check value")
    print("consumed %d streams" % n)


def main():
    args = sys.argv[1:]
    expect = None
    if len(args) >= 2 and args[0] == "--expect":
        expect = args[1]
        args = args[2:]
    if len(args) != 2 or args[0] not in ("produce", "consume"):
        print(__doc__, file=sys.stderr)
        return 2
    if expect:
        check_expect(expect)
    (produce if args[0] == "produce" else consume)(args[1])
    if os.environ.get("EXPECT_DEVICE"):
        # The zip device's engine threads ("wd-zip...-eN") ran in here.
        names = []
        for t in os.listdir("/proc/self/task"):
            with open("/proc/self/task/%s/comm" % t) as f:
                names.append(f.read().strip())
        engines = [n for n in names if n.startswith("wd-zip")]
        print("device engine threads: %d" % len(engines))
        check(engines, "no zip device engine thread in this process (threads: %s)" % names)
    print("%s: %d failed" % (args[0], len(FAILURES)))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
