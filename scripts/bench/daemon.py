"""Daemon figures: drop-to-start latency and the queue's throughput with a trivial edit.

Usage (repository root, after `swift build -c release`):  python3 scripts/bench/daemon.py [--drops 20] [--burst 500]
Starts `darkroom watch` on a temporary inbox with the shipped model, then
- drops one `noise` job at a time (image, then sidecar, each by rename) and reads the job's start time from
  SQLite: latency = started_at − the moment the sidecar was renamed into the inbox (median and max);
- drops a burst of `noise` jobs (t = 1, a trivial edit) at once and times until all are done: jobs/s.
"""
import argparse
import datetime
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def parse(ts):
    return datetime.datetime.strptime(ts[:23], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc).timestamp()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--drops", type=int, default=20)
    p.add_argument("--burst", type=int, default=500)
    a = p.parse_args()
    work = tempfile.mkdtemp(prefix="darkroom-daemon-bench-")
    inbox = os.path.join(work, "inbox")
    os.makedirs(inbox)
    with open(os.path.join(work, "config.json"), "w") as f:
        json.dump({"models": {"fashion": os.path.join(ROOT, "models", "fashion-mnist")}, "threads": 1}, f)
    image = os.path.join(ROOT, "examples", "inbox", "noise-trouser.png")
    daemon = subprocess.Popen([os.path.join(ROOT, ".build", "release", "darkroom"), "watch", "--config", os.path.join(work, "config.json")],
                              stderr=subprocess.DEVNULL)
    db = os.path.join(work, "darkroom.sqlite")
    try:
        time.sleep(1.0)

        def drop(name, seed):
            shutil.copy(image, os.path.join(inbox, "." + name + ".png"))
            os.rename(os.path.join(inbox, "." + name + ".png"), os.path.join(inbox, name + ".png"))
            with open(os.path.join(inbox, "." + name + ".json"), "w") as f:
                json.dump({"mode": "noise", "t": [1], "seed": seed}, f)
            t = time.time()
            os.rename(os.path.join(inbox, "." + name + ".json"), os.path.join(inbox, name + ".json"))
            return t

        def query(sql, *args):
            con = sqlite3.connect(db, timeout=10)
            try:
                return con.execute(sql, args).fetchall()
            finally:
                con.close()

        latencies = []
        for k in range(a.drops):
            t0 = drop(f"single{k}", k)
            while True:
                rows = query("SELECT started_at FROM jobs WHERE name = ? AND started_at IS NOT NULL", f"single{k}")
                if rows:
                    latencies.append(parse(rows[0][0]) - t0)
                    break
                time.sleep(0.005)
            while query("SELECT COUNT(*) FROM jobs WHERE state = 'running'")[0][0]:
                time.sleep(0.01)
        start = time.time()
        for k in range(a.burst):
            drop(f"burst{k}", 10_000 + k)
        dropped = time.time()
        while query("SELECT COUNT(*) FROM jobs WHERE state = 'done' AND name LIKE 'burst%'")[0][0] < a.burst:
            time.sleep(0.02)
        end = time.time()
        print(f"drop-to-start latency over {a.drops} drops: median {1000 * statistics.median(latencies):.1f} ms, max {1000 * max(latencies):.1f} ms")
        print(f"burst of {a.burst} trivial jobs (noise at t=1, 28x28): {a.burst / (end - start):.0f} jobs/s from first drop to last done "
              f"({end - start:.2f} s; dropping took {dropped - start:.2f} s)")
    finally:
        daemon.terminate()
        daemon.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
