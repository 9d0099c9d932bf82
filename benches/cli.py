"""Whole-process timings of the CLI, against moto on 127.0.0.1 (see cli.sh):

- `stripe-bridge --help` (target: at most 10 ms);
- `stripe-bridge deploy` with nothing changed, the relay build check included (target:
  at most 3 s). One deploy first makes the bridge; the timed ones find nothing to do.
"""

import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time

HELP_TARGET_MS = 10
NO_OP_DEPLOY_TARGET_MS = 3000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(command, env, runs):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        times.append((time.perf_counter() - started) * 1000)
        if result.returncode != 0:
            sys.exit(f"{' '.join(command)} failed: {result.stderr.decode()}")
    return statistics.median(times), max(times)


@contextlib.contextmanager
def emulator(python, launcher):
    """Runs the AWS emulator on a free port of 127.0.0.1 and yields the environment that
    points the SDKs at it; stops it on leaving."""
    port = free_port()
    process = subprocess.Popen(
        [python, launcher, str(port)], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    sys.exit("the emulator did not start")
        yield dict(
            os.environ,
            AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
            AWS_REGION="us-east-1",
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_EC2_METADATA_DISABLED="true",
        )
    finally:
        process.stdin.close()
        process.wait()


def measure(binary, python, launcher, runs, artifact=None):
    """Medians and maxima, in ms, of `--help` and of a deploy that changes nothing
    (with `artifact`, the zip is given and no relay build is checked)."""
    with emulator(python, launcher) as env:
        help_median, help_max = timed([binary, "--help"], env, runs * 5)
        deploy = [binary, "--name", "bench", "deploy"] + (["--artifact", artifact] if artifact else [])
        subprocess.run(deploy, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deploy_median, deploy_max = timed(deploy, env, runs)
    return {"help_ms": help_median, "help_max_ms": help_max, "deploy_ms": deploy_median, "deploy_max_ms": deploy_max}


def main():
    binary, python, launcher, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    m = measure(binary, python, launcher, runs)
    print(f"stripe-bridge --help: median {m['help_ms']:.1f} ms, max {m['help_max_ms']:.1f} ms (target <= {HELP_TARGET_MS} ms)")
    print(
        f"deploy, nothing changed: median {m['deploy_ms']:.0f} ms, max {m['deploy_max_ms']:.0f} ms "
        f"over {runs} runs (target <= {NO_OP_DEPLOY_TARGET_MS} ms)"
    )
    failed = m["help_ms"] > HELP_TARGET_MS or m["deploy_ms"] > NO_OP_DEPLOY_TARGET_MS
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
