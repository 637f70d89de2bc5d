"""Cold deploy to the local platform vs `cp -a`, and the memory of a 1 GiB chunked upload.

    .venv/bin/python bench/bench_local_deploy.py [--files 20000] [--mb 200] [--rounds 3]

Cold deploy: `moai-adk deploy --prod --json` timed as a user runs it (process start
included) with an empty hash cache (a new project folder) against a platform with an
empty data folder (`moai-adk platform serve` on a free loopback port), every round.
Baseline, same run, alternating with the deploys: `cp -a` of the same tree to the
same disk (the platform's data folder is on that disk too). Target: cold deploy
<= 3x `cp -a` (best of the rounds on each side).

Upload memory: a 1 GiB `Transfer-Encoding: chunked` `PUT /_api/v1/blobs/<sha256>`
made by a generator; the server's resident memory (all its processes) is sampled
every 20 ms. Target: growth < 64 MB.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sitegen import make_site  # noqa: E402

MOAI = [sys.executable, "-m", "moai_adk"]
WORK = Path(__file__).resolve().parent / ".work"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Serve:
    """`moai-adk platform serve` on a free port with its own data folder and credentials."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, XDG_CONFIG_HOME=str(tmp / "cfg"), MOAI_PLATFORM_URL=self.url)
        self.proc = subprocess.Popen([*MOAI, "platform", "serve", "--port", str(self.port), "--data",
                                      str(tmp / "platform")], env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, start_new_session=True)
        creds = tmp / "cfg" / "moai-adk" / "platform.json"
        deadline = time.monotonic() + 30
        while True:
            try:
                if creds.exists() and httpx.get(f"{self.url}/_api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit(f"platform did not start: {self.proc.stderr.read().decode() if self.proc.stderr else ''}")
            time.sleep(0.05)
        self.token = json.loads(creds.read_text())["token"]

    def pids(self) -> list[int]:
        pids = {self.proc.pid}
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            pids.update(int(c) for c in (task / "children").read_text().split())
        return sorted(pids)

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def timed(cmd: list[str], **kwargs: object) -> tuple[float, subprocess.CompletedProcess[str]]:
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    elapsed = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {r.stderr}")
    return elapsed, r


def cold_deploys(site: Path, rounds: int) -> None:
    cps: list[float] = []
    deploys: list[float] = []
    with tempfile.TemporaryDirectory(dir=WORK) as tmp_name:
        tmp = Path(tmp_name)
        timed(["cp", "-a", str(site), str(tmp / "warm")])  # both sides start with the tree in the page cache
        shutil.rmtree(tmp / "warm")
        for r in range(rounds):
            t, _ = timed(["cp", "-a", str(site), str(tmp / f"copy{r}")])
            cps.append(t)
            shutil.rmtree(tmp / f"copy{r}")
            subprocess.run(["sync"], check=True)
            round_dir = tmp / f"round{r}"
            project = round_dir / "project"
            project.mkdir(parents=True)
            os.symlink(site, project / "out")
            (project / "moai.toml").write_text('[project]\nname = "bench"\n[build]\noutput = "out"\n')
            server = Serve(round_dir)
            try:
                t, res = timed([*MOAI, "deploy", "--json", "--prod"], cwd=project, env=server.env)
            finally:
                server.stop()
            out = json.loads(res.stdout)
            deploys.append(t)
            print(f"round {r + 1}: cp -a {cps[-1]:.2f} s; cold deploy {t:.2f} s ({out['files_uploaded']:,} files, "
                  f"{out['bytes_uploaded'] / 1e6:.0f} MB uploaded, phases {out['durations']})")
            shutil.rmtree(round_dir)
            subprocess.run(["sync"], check=True)
    best_cp, best_deploy = min(cps), min(deploys)
    print(f"cold deploy {best_deploy:.2f} s vs cp -a {best_cp:.2f} s: ratio {best_deploy / best_cp:.2f}x "
          f"(target <= 3x; best of {rounds} each, same disk)")


def rss(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) << 10
        except OSError:
            pass
    return total


def chunked_upload(size: int) -> None:
    block = hashlib.sha256(b"bench").digest() * (1 << 15)  # 1 MiB

    def body() -> Iterator[bytes]:
        for i in range(size // len(block)):
            yield i.to_bytes(8, "big") + block[8:]

    digest = hashlib.sha256()
    for chunk in body():
        digest.update(chunk)
    with tempfile.TemporaryDirectory(dir=WORK) as tmp_name:
        server = Serve(Path(tmp_name))
        try:
            pids = server.pids()
            base = rss(pids)
            peak = [base]
            stop = threading.Event()

            def sample() -> None:
                while not stop.wait(0.02):
                    peak[0] = max(peak[0], rss(pids))

            sampler = threading.Thread(target=sample)
            sampler.start()
            t = time.perf_counter()
            try:
                r = httpx.put(f"{server.url}/_api/v1/blobs/{digest.hexdigest()}", content=body(), timeout=600,
                              headers={"authorization": f"Bearer {server.token}"})
            finally:
                stop.set()
                sampler.join()
            elapsed = time.perf_counter() - t
        finally:
            server.stop()
    assert r.status_code == 201, r.text
    growth = (peak[0] - base) / (1 << 20)
    print(f"1 GiB chunked upload: {r.status_code} in {elapsed:.1f} s; server RSS {base / (1 << 20):.0f} MB -> "
          f"peak {peak[0] / (1 << 20):.0f} MB, growth {growth:.1f} MB (target < 64 MB)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=20_000)
    ap.add_argument("--mb", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--upload-mb", type=int, default=1024)
    args = ap.parse_args()
    WORK.mkdir(exist_ok=True)
    site = make_site(WORK / f"site-{args.files}-{args.mb}", args.files, args.mb)
    cold_deploys(site, args.rounds)
    chunked_upload(args.upload_mb << 20)


if __name__ == "__main__":
    main()
