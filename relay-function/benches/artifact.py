"""Size and start-up time of the relay's Lambda artifact (see artifact.sh)."""

import io
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import zipfile

MAX_ZIPPED = 4 * 1000 * 1000
LAMBDA_GLIBC = (2, 34)


def zipped_size(path):
    """The size of a zip holding `bootstrap` as Lambda wants it: executable, deflated."""
    info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o100755 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, open(path, "rb") as binary:
        archive.writestr(info, binary.read(), compresslevel=9)
    return len(buffer.getvalue())


def newest_glibc(path):
    symbols = subprocess.run(["objdump", "-T", path], capture_output=True, text=True, check=True).stdout
    versions = {tuple(int(p) for p in v.split(".")) for v in re.findall(r"GLIBC_([0-9.]+)", symbols)}
    return max(versions) if versions else None


def start_up(path):
    """Seconds from exec to the first GET of /runtime/invocation/next."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        "AWS_LAMBDA_FUNCTION_NAME": "stripe-bridge-relay",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/stripe-bridge-relay",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        "EVENT_BUS_NAME": "stripe-bridge",
        "SIGNING_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:stripe-bridge",
        "FAILURE_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:stripe-bridge-failures",
        "CLAIM_CHECK_BUCKET": "stripe-bridge-claim-checks",
    }
    started = time.perf_counter()
    process = subprocess.Popen([path], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        server.settimeout(10)
        connection, _ = server.accept()
        request = b""
        while b"\r\n" not in request:
            chunk = connection.recv(4096)
            if not chunk:
                raise RuntimeError("the runtime closed the connection before asking for work")
            request += chunk
        elapsed = time.perf_counter() - started
        if not request.startswith(b"GET /2018-06-01/runtime/invocation/next"):
            raise RuntimeError(f"unexpected first request: {request[:80]!r}")
        connection.close()
        return elapsed
    finally:
        process.kill()
        process.wait()
        server.close()


def main():
    path, runs = sys.argv[1], int(sys.argv[2])
    raw = os.path.getsize(path)
    zipped = zipped_size(path)
    glibc = newest_glibc(path)
    times = sorted(start_up(path) for _ in range(runs))
    median_ms = statistics.median(times) * 1000
    p90_ms = times[int(len(times) * 0.9) - 1] * 1000
    glibc_text = ".".join(map(str, glibc)) if glibc else "none"
    print(f"bootstrap: {raw:,} bytes; zipped: {zipped:,} bytes (target <= {MAX_ZIPPED:,})")
    print(f"newest glibc symbol: {glibc_text} (Lambda provided.al2023 has 2.34)")
    print(f"start-up to first Runtime API poll: median {median_ms:.1f} ms, p90 {p90_ms:.1f} ms over {runs} starts")
    failed = zipped > MAX_ZIPPED or (glibc is not None and glibc > LAMBDA_GLIBC)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
