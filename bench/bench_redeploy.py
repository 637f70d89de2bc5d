"""Whole redeploy to the local platform after changing one file.

    .venv/bin/python bench/bench_redeploy.py [--files 20000] [--mb 200]

Starts `moai-adk platform serve` on a free loopback port with a temporary data
folder, deploys the synthetic site once (cold: every blob uploaded), changes
one file, and times `moai-adk deploy --json --prod` end to end as a user runs it
(process start included): the manifest goes as a delta against the last
deploy, one blob is uploaded. Target: <= 0.5 s, exactly one blob uploaded.
The baseline printed beside it is `moai-adk --version` (the interpreter and
import cost every command pays). The package is byte-compiled first, as `pip install`
does for every regular install (scripts/setup does it for the editable one).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sitegen import make_site  # noqa: E402

MOAI = [sys.executable, "-m", "moai_adk"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=20_000)
    ap.add_argument("--mb", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--work", default=str(Path(__file__).resolve().parent / ".work"))
    args = ap.parse_args()
    site = make_site(Path(args.work) / f"site-{args.files}-{args.mb}", args.files, args.mb)
    import moai_adk

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(moai_adk.__file__).parent)], check=True,
                   stdout=subprocess.DEVNULL)

    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        port = free_port()
        env = dict(os.environ, XDG_CONFIG_HOME=str(tmpd / "cfg"), XDG_DATA_HOME=str(tmpd / "data"))
        server = subprocess.Popen([*MOAI, "platform", "serve", "--port", str(port), "--data", str(tmpd / "platform")],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            creds = tmpd / "cfg" / "moai-adk" / "platform.json"
            deadline = time.monotonic() + 30
            while not creds.exists():
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit(f"platform did not start: {server.stderr.read().decode() if server.stderr else ''}")
                time.sleep(0.05)
            time.sleep(0.5)
            project = tmpd / "project"
            project.mkdir()
            os.symlink(site, project / "out")
            (project / "moai.toml").write_text('[project]\nname = "bench"\n[build]\noutput = "out"\n')
            env["MOAI_PLATFORM_URL"] = f"http://127.0.0.1:{port}"

            def deploy() -> tuple[float, dict]:  # type: ignore[type-arg]
                t = time.perf_counter()
                r = subprocess.run([*MOAI, "deploy", "--json", "--prod"], cwd=project, env=env,
                                   capture_output=True, text=True)
                elapsed = time.perf_counter() - t
                if r.returncode != 0:
                    raise SystemExit(r.stderr)
                return elapsed, json.loads(r.stdout)

            cold_t, cold = deploy()
            print(f"cold deploy: {cold['files_uploaded']:,} files, {cold['bytes_uploaded'] / 1e6:.0f} MB uploaded "
                  f"in {cold_t:.2f} s  phases {cold['durations']}")
            victim = next(p for p in sorted(site.rglob("*.css")))
            original = victim.read_bytes()
            base = min(_time([*MOAI, "--version"], env) for _ in range(3))
            times = []
            try:
                for i in range(args.repeat):
                    victim.write_bytes(original + f"/* {i} {time.time()} */".encode())
                    t, res = deploy()
                    times.append(t)
                    assert res["files_uploaded"] == 1, res
                    print(f"redeploy {i + 1}: {t:.3f} s, files uploaded {res['files_uploaded']}, "
                          f"bytes {res['bytes_uploaded']}, phases {res['durations']}")
            finally:
                victim.write_bytes(original)
            best = min(times)
            print(f"redeploy after one change: {best:.3f} s (target <= 0.5 s); `moai-adk --version` {base:.3f} s; "
                  f"ratio {best / base:.1f}")
        finally:
            server.terminate()
            server.wait(10)


def _time(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, env=env, capture_output=True, check=True)
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
