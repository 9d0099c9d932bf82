"""From nothing to a deployed bridge, on the AWS emulator (see install.sh): the release
archive unpacked and deployed, against `cargo install --path .` and its first deploy.
Each step's wall-clock time, once: these are minutes, not milliseconds."""

import os
import shutil
import subprocess
import sys
import tempfile
import time

from cli import emulator

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(label, command, env, cwd=None):
    started = time.perf_counter()
    result = subprocess.run(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{label} failed: {result.stderr.decode()[-2000:]}")
    print(f"  {label}: {seconds:.1f} s", flush=True)
    return seconds


def clean_env(env, home):
    """The emulator's variables, an empty HOME, and no Rust toolchain on PATH."""
    kept = {k: v for k, v in env.items() if k.startswith(("AWS_", "STRIPE_BRIDGE_"))}
    return dict(kept, HOME=home, PATH="/usr/bin:/bin")


def release(archive, env, scratch):
    print("release archive -> deployed bridge (no cargo or rustc on PATH):", flush=True)
    home = os.path.join(scratch, "release-home")
    os.makedirs(home)
    unpack = timed("unpack", ["tar", "-xJf", archive, "-C", scratch], env)
    folder = os.path.join(scratch, os.path.basename(archive)[: -len(".tar.xz")])
    deploy = timed("deploy", [os.path.join(folder, "stripe-bridge"), "--name", "bench-release", "deploy"], clean_env(env, home))
    return unpack + deploy


def source(env, scratch):
    print("cargo install --locked --path . -> deployed bridge:", flush=True)
    home = os.path.join(scratch, "source-home")
    os.makedirs(home)
    build_env = dict(env, CARGO_TARGET_DIR=os.path.join(scratch, "install-target"))
    install = timed(
        "cargo install",
        ["cargo", "install", "--locked", "--quiet", "--path", ROOT, "--root", os.path.join(scratch, "root")],
        build_env,
    )
    # rustup's and cargo's own homes stay (a user has them); the relay's cache is empty.
    deploy_env = dict(
        env,
        XDG_CACHE_HOME=os.path.join(home, ".cache"),
        CARGO_HOME=os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo")),
        RUSTUP_HOME=os.environ.get("RUSTUP_HOME", os.path.expanduser("~/.rustup")),
    )
    deploy_env.pop("CARGO_TARGET_DIR", None)
    deploy = timed("deploy (builds the relay)", [os.path.join(scratch, "root", "bin", "stripe-bridge"), "--name", "bench-source", "deploy"], deploy_env)
    return install + deploy


def main():
    archive, python, launcher = sys.argv[1], sys.argv[2], sys.argv[3]
    release_only = "--release" in sys.argv[4:]
    scratch = tempfile.mkdtemp(prefix="stripe-bridge-install-")
    try:
        with emulator(python, launcher) as env:
            env = dict(env, STRIPE_BRIDGE_AWS_DELAY_SECONDS="1")
            fast = release(archive, env, scratch)
            print(f"release: {fast:.1f} s to a deployed bridge", flush=True)
            if not release_only:
                slow = source(env, scratch)
                print(f"from source: {slow:.1f} s to a deployed bridge ({slow / fast:.0f}x the release's)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
