"""`backend plan` (Supabase) for an environment with 20 buckets and 50 redirect URLs, against the fakes
served on loopback with 20 ms added to every request.

    .venv/bin/python bench/bench_backend_plan.py [--latency 0.02] [--repeat 5]

Prints the API round trips of one plan (target: at most 6) and its wall time, best of REPEAT
(target: under 1 s), measured in-process through real HTTP to the fakes (their spec checks off, so
only the client is timed). The live project already matches moai.toml except one bucket and one URL,
so the plan also diffs every resource. The 30 Firestore indexes of the figure are the Firebase
backend's; its bench measures that side.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from moai_adk.backend import make_plan, open_backend  # noqa: E402
from moai_adk.config import load_config  # noqa: E402
from moai_adk.secrets.ops import keygen, open_store, set_secret  # noqa: E402
from tests.fakes import Faults, serve_handler  # noqa: E402
from tests.fakes.supabase_api import FakeSupabaseApi  # noqa: E402
from tests.fakes.supabase_storage import FakeSupabaseStorage  # noqa: E402

REF = "abcdefghijklmnopqrst"


def project(root: Path, environ: dict[str, str]) -> None:
    urls = ", ".join(f'"https://pr-{n}.shop.example/**"' for n in range(50))
    buckets = "".join(f"\n[backend.supabase.buckets.bucket-{n:02d}]\npublic = {str(n % 2 == 0).lower()}\n"
                      f"file_size_limit = {1_048_576 * (n + 1)}\nallowed_mime_types = [\"image/png\"]\n"
                      for n in range(20))
    root.mkdir()
    (root / "moai.toml").write_text(
        f'[project]\nname = "bench"\n\n[environments.staging]\nsupabase_project_ref = "{REF}"\n\n'
        '[backend.supabase]\nrealtime_tables = ["todos", "messages"]\nextensions = ["pg_trgm"]\n'
        'secrets = ["STRIPE_KEY", "RESEND_KEY"]\n\n'
        f'[backend.supabase.auth]\nsite_url = "https://shop.example"\nadditional_redirect_urls = [{urls}]\n'
        f'jwt_expiry = 3600\nproviders = {{ email = true, github = true }}\n{buckets}')
    store = open_store(load_config(root / "moai.toml"), "staging", environ)
    keygen(store, label="bench")
    set_secret(store, "STRIPE_KEY", "sk_test_1")
    set_secret(store, "RESEND_KEY", "re_bench_1")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    api = FakeSupabaseApi(refs=(REF,))
    storage = FakeSupabaseStorage(api)
    api.check_spec = storage.check_spec = False
    api.faults = storage.faults = Faults(latency=args.latency)
    live = api.backend_state(REF)
    for n in range(19):  # one bucket to add
        live.add_bucket(f"bucket-{n:02d}", public=n % 2 == 0, file_size_limit=1_048_576 * (n + 1),
                        allowed_mime_types=["image/png"])
    live.auth["uri_allow_list"] = ",".join(f"https://pr-{n}.shop.example/**" for n in range(49))
    with tempfile.TemporaryDirectory() as tmp, serve_handler(api.handle) as api_url, \
            serve_handler(storage.handle) as storage_url:
        environ = {"SUPABASE_ACCESS_TOKEN": "sbp_test", "MOAI_SUPABASE_API_URL": api_url,
                   "MOAI_SUPABASE_PROJECT_URL": storage_url + "/{ref}", "MOAI_SECRETS_BACKEND": "file",
                   "XDG_CONFIG_HOME": f"{tmp}/config", "XDG_DATA_HOME": f"{tmp}/data"}
        root = Path(tmp) / "bench"
        project(root, environ)
        cfg = load_config(root / "moai.toml")
        runs = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            backend = open_backend(cfg, "supabase", "staging", environ)
            try:
                plan = make_plan(backend)
            finally:
                backend.close()
            runs.append((time.perf_counter() - start, plan))
        wall, plan = min(runs, key=lambda r: r[0])
    resources = 20 + 50 + 2 + 1 + 2 + 4
    print(f"backend plan (supabase), {resources} resources (20 buckets, 50 redirect URLs), "
          f"{args.latency * 1000:.0f} ms per request:")
    print(f"  round trips: {plan.round_trips} (target <= 6)")
    print(f"  wall time:   {wall * 1000:.0f} ms best of {args.repeat} (target < 1000 ms; "
          f"all runs: {', '.join(f'{r[0] * 1000:.0f}' for r in runs)} ms)")
    print(f"  changes:     {len(plan.changes)} ({', '.join(c.render() for c in plan.changes)})")
    ok = plan.round_trips <= 6 and wall < 1.0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
