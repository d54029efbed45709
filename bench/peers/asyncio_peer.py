#!/usr/bin/env python3
"""asyncio_peer.py - the workloads that have a natural asyncio form, on
CPython's default event loop or on uvloop: sleepers, timers and the echo
server.  One process, one thread (asyncio's model).  Each prints one JSON
line like the C programs in bench/.

usage: asyncio_peer.py LOOP sleepers [N]      LOOP: asyncio or uvloop
       asyncio_peer.py LOOP timers [N]
       asyncio_peer.py LOOP echo [PORT]       serves until SIGTERM
"""
import asyncio
import json
import resource
import signal
import sys
import time

SPAN_MS = 1000
MASK = (1 << 64) - 1


def rss_now_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def deadline_ms(i):
    """The i-th deadline, 1..1000 ms: the hash bench/timers.c uses."""
    z = (i + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    z ^= z >> 31
    return 1 + z % SPAN_MS


async def sleepers(system, n):
    base = rss_now_kib()
    t0 = time.monotonic()
    early = 0

    async def sleeper():
        nonlocal early
        start = time.monotonic()
        await asyncio.sleep(0.1)
        if time.monotonic() - start < 0.1:
            early += 1

    await asyncio.gather(*(sleeper() for _ in range(n)))
    wall = time.monotonic() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    delta = peak - base
    print(json.dumps({"bench": "sleepers", "system": system, "n": n, "workers": 1,
                      "wall_s": round(wall, 6), "rss_base_kib": base, "rss_peak_kib": peak,
                      "rss_delta_kib": delta, "kib_per_task": round(delta / n, 3),
                      "early": early, "check": "ok"}, separators=(",", ":")))
    return True  # early wake-ups are reported, not failed (see timers)


async def timers(system, n):
    late = [0.0] * n

    async def timer(i):
        ms = deadline_ms(i)
        due = time.monotonic() + ms / 1000
        await asyncio.sleep(ms / 1000)
        late[i] = (time.monotonic() - due) * 1e6

    t0 = time.monotonic()
    await asyncio.gather(*(timer(i) for i in range(n)))
    wall = time.monotonic() - t0
    early = sum(1 for x in late if x < 0)
    late.sort()
    print(json.dumps({"bench": "timers", "system": system, "n": n, "workers": 1,
                      "wall_s": round(wall, 6), "late_p50_us": round(late[n // 2], 1),
                      "late_p99_us": round(late[n * 99 // 100], 1),
                      "late_max_us": round(late[-1], 1), "early": early,
                      "check": "ok"}, separators=(",", ":")))
    # Early wake-ups are reported, not failed: libuv and uvloop schedule
    # from a cached clock in whole milliseconds, which is theirs to show.
    return True


async def echo(port):
    async def serve(reader, writer):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", port)
    print(f"listening on {server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    await stop
    server.close()
    return True


def main(argv):
    if len(argv) < 3 or argv[1] not in ("asyncio", "uvloop") or \
            argv[2] not in ("sleepers", "timers", "echo"):
        sys.stderr.write(__doc__)
        return 2
    system, workload = argv[1], argv[2]
    if workload == "echo":
        coro = echo(int(argv[3]) if len(argv) > 3 else 0)
    else:
        n = int(argv[3]) if len(argv) > 3 else 100000
        coro = (sleepers if workload == "sleepers" else timers)(system, n)
    if system == "uvloop":
        import uvloop
        ok = uvloop.run(coro) if hasattr(uvloop, "run") else \
            (uvloop.install(), asyncio.run(coro))[1]
    else:
        ok = asyncio.run(coro)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
