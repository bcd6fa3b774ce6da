#!/usr/bin/python3
"""Peer of SharedCounterBench: a shared counter incremented from 2 processes.

Two variants, each N increments per process, started together at a barrier:
  manager: multiprocessing.Manager().Value('q') under a Manager().Lock() (server process,
           like Cohort's coordinator-homed objects; an increment is lock, get, set, unlock)
  value:   multiprocessing.Value('q') with its own lock (shared memory on one host)
Prints ops/s and p50/p99 microseconds per increment, as seen inside the processes.

Usage: /usr/bin/python3 bench/peers/shared_value.py [ops_per_process, default 20000]
"""
import multiprocessing as mp
import sys
import time

PROCS = 2


def inc_manager(value, lock, barrier, ops, out):
    lat = []
    barrier.wait()
    begin = time.perf_counter_ns()
    for _ in range(ops):
        t0 = time.perf_counter_ns()
        with lock:
            value.value += 1
        lat.append(time.perf_counter_ns() - t0)
    out.put((time.perf_counter_ns() - begin, lat))


def inc_value(value, barrier, ops, out):
    lat = []
    barrier.wait()
    begin = time.perf_counter_ns()
    for _ in range(ops):
        t0 = time.perf_counter_ns()
        with value.get_lock():
            value.value += 1
        lat.append(time.perf_counter_ns() - t0)
    out.put((time.perf_counter_ns() - begin, lat))


def run(name, target, args, value, ops):
    barrier = mp.Barrier(PROCS)
    out = mp.Queue()
    procs = [mp.Process(target=target, args=args + (barrier, ops, out)) for _ in range(PROCS)]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    longest = max(r[0] for r in results)
    lat = sorted(x for r in results for x in r[1])
    print("%s: %d processes x %d increments: %.0f ops/s, p50 %.1f us, p99 %.1f us, final %d"
          % (name, PROCS, ops, len(lat) / (longest / 1e9), lat[len(lat) // 2] / 1e3,
             lat[int(len(lat) * 0.99)] / 1e3, value.value))


def main():
    ops = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    with mp.Manager() as manager:
        v = manager.Value('q', 0)
        run("manager.Value+Lock", inc_manager, (v, manager.Lock()), v, ops)
    v = mp.Value('q', 0)
    run("multiprocessing.Value", inc_value, (v,), v, ops)


if __name__ == "__main__":
    main()
