#!/usr/bin/env python3
"""The peers of BENCH.md: W1-W5 and W7 on concurrent.futures.ProcessPoolExecutor(2) and
multiprocessing.Pool(2), each measured 3 times after a warm-up (median, min, max).
Standard library only. Prints one JSON object on stdout, progress on stderr:

  {"process_pool": {"W1": {"tasks_per_s": ..., "min": {...}, "max": {...}, "runs": 3}, ...},
   "mp_pool": {...}, "python": "3.11.2", "start_method": "fork"}

Usage: peers.py [--only W1,W3] [--quick]
"""
import argparse
import concurrent.futures
import json
import math
import multiprocessing
import os
import statistics
import subprocess
import sys
import time

ALL = ["W1", "W2", "W3", "W4", "W5", "W7"]
MIB = 1 << 20


def inc(x):
    return x + 1


def copy(b):
    return bytes(b)


def spin(iterations):
    """Pure CPU, the same xorshift chain as the Java side (masked to 64 bits)."""
    x = 88172645463325252
    mask = (1 << 64) - 1
    for _ in range(iterations):
        x ^= (x << 13) & mask
        x ^= x >> 7
        x ^= (x << 17) & mask
    return x


def forty_two():
    return 6 * 7


class ProcessPool:
    """ProcessPoolExecutor(n) behind the few calls the workloads need."""
    name = "process_pool"

    def __init__(self, n):
        self.pool = concurrent.futures.ProcessPoolExecutor(n)

    def submit_all(self, fn, args):
        futures = [self.pool.submit(fn, a) for a in args]
        return [f.result() for f in futures]

    def one(self, fn, arg):
        return self.pool.submit(fn, arg).result()

    def map(self, fn, inputs, chunksize):
        return list(self.pool.map(fn, inputs, chunksize=chunksize))

    def close(self):
        self.pool.shutdown()


class MpPool:
    """multiprocessing.Pool(n): apply_async for single tasks, map for W2."""
    name = "mp_pool"

    def __init__(self, n):
        self.pool = multiprocessing.Pool(n)

    def submit_all(self, fn, args):
        results = [self.pool.apply_async(fn, (a,)) for a in args]
        return [r.get() for r in results]

    def one(self, fn, arg):
        return self.pool.apply_async(fn, (arg,)).get()

    def map(self, fn, inputs, chunksize):
        return self.pool.map(fn, inputs, chunksize=chunksize)

    def close(self):
        self.pool.close()
        self.pool.join()


def w1(pool, tasks):
    start = time.perf_counter()
    out = pool.submit_all(inc, range(tasks))
    rate = tasks / (time.perf_counter() - start)
    assert out[-1] == tasks
    return {"tasks_per_s": rate}


def w2(pool, tasks):
    inputs = list(range(tasks))
    start = time.perf_counter()
    out = pool.map(inc, inputs, 1000)
    rate = tasks / (time.perf_counter() - start)
    assert sum(out) == tasks * (tasks - 1) // 2 + tasks
    return {"tasks_per_s": rate}


def w3(pool, samples):
    micros = []
    for i in range(samples):
        t = time.perf_counter_ns()
        pool.one(inc, i)
        micros.append((time.perf_counter_ns() - t) // 1000)
    micros.sort()
    return {"p50_us": micros[samples // 2], "p99_us": micros[math.ceil(samples * 0.99) - 1]}


def w4_seconds(pool, tasks, iterations):
    start = time.perf_counter()
    pool.submit_all(spin, [iterations] * tasks)
    return time.perf_counter() - start


def w5(pool, tasks, payload):
    start = time.perf_counter()
    out = pool.submit_all(copy, [payload] * tasks)
    seconds = time.perf_counter() - start
    assert all(len(b) == MIB for b in out)
    return {"mb_per_s": 2.0 * tasks * len(payload) / MIB / seconds}


def w7_child(kind):
    """Runs in a fresh interpreter: from nothing to the first result."""
    start = time.perf_counter()
    if kind == "process_pool":
        with concurrent.futures.ProcessPoolExecutor(2) as pool:
            assert pool.submit(forty_two).result() == 42
            seconds = time.perf_counter() - start
    else:
        with multiprocessing.Pool(2) as pool:
            assert pool.apply_async(forty_two).get() == 42
            seconds = time.perf_counter() - start
    print("seconds=%f" % seconds, flush=True)


def w7(kind):
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--w7-child", kind],
                         capture_output=True, text=True, timeout=60, check=True)
    for line in out.stdout.splitlines():
        if line.startswith("seconds="):
            return {"seconds": float(line[len("seconds="):])}
    raise RuntimeError("W7 child printed no time: " + out.stdout + out.stderr)


def calibrate_spin(seconds):
    probe = 200_000
    best = min(timed(spin, probe) for _ in range(3))
    return max(1, int(probe * seconds / best))


def timed(fn, arg):
    t = time.perf_counter()
    fn(arg)
    return time.perf_counter() - t


def repeat(runs, measure, warmup=None):
    """A warm-up (one run unless given), then `runs` measured; returns {figure: median, min: {...}, max: {...}, runs}."""
    (warmup or measure)()
    results = [measure() for _ in range(runs)]
    out = {}
    for name in results[0]:
        out[name] = statistics.median(r[name] for r in results)
    out["min"] = {name: min(r[name] for r in results) for name in results[0]}
    out["max"] = {name: max(r[name] for r in results) for name in results[0]}
    out["runs"] = runs
    return out


def progress(pool_name, wid, what):
    print("peers: %s %s: %s" % (pool_name, wid, what), file=sys.stderr, flush=True)


def run_peer(make, ids, quick, runs):
    results = {}
    name = make.name
    pool = make(2)
    try:
        if "W1" in ids:
            tasks = 2_000 if quick else 20_000
            progress(name, "W1", "%d tasks" % tasks)
            results["W1"] = repeat(runs, lambda: w1(pool, tasks))
        if "W2" in ids:
            tasks = 20_000 if quick else 200_000
            progress(name, "W2", "%d tasks, chunksize=1000" % tasks)
            results["W2"] = repeat(runs, lambda: w2(pool, tasks))
        if "W3" in ids:
            warmup, samples = (2_000, 500) if quick else (20_000, 2_000)
            progress(name, "W3", "%d warm-up round trips, then %d per run" % (warmup, samples))
            results["W3"] = repeat(runs, lambda: w3(pool, samples), warmup=lambda: w3(pool, warmup))
        if "W5" in ids:
            tasks = 20 if quick else 200
            payload = os.urandom(MIB)
            progress(name, "W5", "%d tasks of 1 MiB in, 1 MiB out" % tasks)
            results["W5"] = repeat(runs, lambda: w5(pool, tasks, payload))
        if "W4" in ids:
            task_seconds = 0.05 if quick else 0.25
            iterations = calibrate_spin(task_seconds)
            progress(name, "W4", "8 tasks of ~%s s (%d iterations); 1 vs 2 workers" % (task_seconds, iterations))
            single = make(1)
            try:
                def speedup():
                    s = w4_seconds(single, 8, iterations) / w4_seconds(pool, 8, iterations)
                    return {"speedup": s, "efficiency": s / 2}
                results["W4"] = repeat(runs, speedup)
            finally:
                single.close()
    finally:
        pool.close()
    if "W7" in ids:
        progress(name, "W7", "a new pool in a fresh interpreter to the first result")
        results["W7"] = repeat(runs, lambda: w7(name))
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(ALL), help="workloads, e.g. W1,W3")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, one run after the warm-up")
    parser.add_argument("--w7-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.w7_child:
        w7_child(args.w7_child)
        return 0
    ids = [i.strip().upper() for i in args.only.split(",") if i.strip()]
    unknown = [i for i in ids if i not in ALL]
    if unknown:
        print("peers: unknown workload(s) %s; known: %s" % (",".join(unknown), ",".join(ALL)), file=sys.stderr)
        return 2
    runs = 1 if args.quick else 3
    out = {
        "python": sys.version.split()[0],
        "start_method": multiprocessing.get_start_method(),
        "process_pool": run_peer(ProcessPool, ids, args.quick, runs),
        "mp_pool": run_peer(MpPool, ids, args.quick, runs),
    }
    json.dump(out, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
