"""The Python half of `wd bench zlib`: times zlib.compress/decompress in
this process (whichever zlib it loaded: the system's, or wd-zlib when
preloaded) and prints one JSON object.

  zlib_worker.py DIR MILLIS [prepare]

DIR holds the corpus files (*.in). `prepare` (run once, on the system
zlib) writes the level-6 streams every run decompresses (*.z) and the
small pieces; without it, each case runs until MILLIS have passed (at
least one pass) and reports calls, bytes, seconds and output sizes.
"""
import json
import os
import sys
import time
import zlib

SMALL = 512  # bytes per small call


def loaded():
    with open("/proc/self/maps") as f:
        names = {line.split()[-1] for line in f if ".so" in line}
    return sorted(n for n in names if "libz" in os.path.basename(n) or "libwdz" in os.path.basename(n))


def files(d, ext):
    return [os.path.join(d, n) for n in sorted(os.listdir(d)) if n.endswith(ext)]


def read(p):
    with open(p, "rb") as f:
        return f.read()


def small_pieces(inputs):
    """512-byte pieces of the text and source inputs."""
    out = []
    for name, data in inputs:
        if "text" in name or "source" in name:
            out += [data[i:i + SMALL] for i in range(0, min(len(data), 1 << 20) - SMALL, SMALL)]
    return out[:2000]


def timed(window, fn):
    """Runs fn() (one pass) until window seconds have passed; returns
    (passes, seconds)."""
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= window:
            return n, dt


def main():
    d, millis = sys.argv[1], int(sys.argv[2])
    inputs = [(os.path.basename(p), read(p)) for p in files(d, ".in")]
    pieces = small_pieces(inputs)
    if len(sys.argv) > 3 and sys.argv[3] == "prepare":
        for name, data in inputs:
            with open(os.path.join(d, name[:-3] + ".z"), "wb") as f:
                f.write(zlib.compress(data, 6))
        with open(os.path.join(d, "small.z"), "wb") as f:
            for p in pieces:
                z = zlib.compress(p, 6)
                f.write(len(z).to_bytes(4, "little") + z)
        print(json.dumps({"prepared": len(inputs)}))
        return
    streams = [read(p) for p in files(d, ".z") if not p.endswith("small.z")]
    blob, small_z = read(os.path.join(d, "small.z")), []
    i = 0
    while i < len(blob):
        n = int.from_bytes(blob[i:i + 4], "little")
        small_z.append(blob[i + 4:i + 4 + n])
        i += 4 + n
    total = sum(len(x) for _, x in inputs)
    window = millis / 1000.0
    cases = {}
    for level in (1, 6, 9):
        sizes = {}

        def comp():
            for name, data in inputs:
                sizes[name] = len(zlib.compress(data, level))

        n, dt = timed(window, comp)
        cases["compress-%d" % level] = {"ops": n * len(inputs), "bytes": n * total, "secs": dt,
                                        "out": sum(sizes.values()), "in": total, "per_file": sizes}
    want = [data for _, data in inputs]

    def decomp():
        for z, w in zip(streams, want):
            if len(zlib.decompress(z)) != len(w):
                raise SystemExit("decompressed size differs")

    n, dt = timed(window, decomp)
    cases["decompress"] = {"ops": n * len(streams), "bytes": n * total, "secs": dt}
    # Each kind alone (a quarter window each): which data gains what.
    for (name, data), z in zip(inputs, streams):
        n, dt = timed(window / 4, lambda: zlib.decompress(z))
        cases["decompress " + name[:-3]] = {"ops": n, "bytes": n * len(data), "secs": dt}
    n, dt = timed(window, lambda: [zlib.compress(p, 6) for p in pieces])
    cases["small-compress"] = {"ops": n * len(pieces), "bytes": n * len(pieces) * SMALL, "secs": dt}
    n, dt = timed(window, lambda: [zlib.decompress(z) for z in small_z])
    cases["small-decompress"] = {"ops": n * len(small_z), "bytes": n * len(pieces) * SMALL, "secs": dt}
    # Everything this run compressed must come back (whatever zlib it was).
    for name, data in inputs:
        if zlib.decompress(zlib.compress(data, 1)) != data:
            raise SystemExit("round trip failed for " + name)
    print(json.dumps({"runtime": zlib.ZLIB_RUNTIME_VERSION, "libs": loaded(), "cases": cases}))


if __name__ == "__main__":
    main()
