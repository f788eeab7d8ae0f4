"""blob.py: the deterministic byte pattern served by app.py's /blob, so a test can
compute the expected digest without a copy of the body. CLI: blob.py N -> N bytes on stdout."""
import hashlib
import sys

_BLOCK = b"".join(hashlib.sha256(b"fulcrum-e2e-%d" % i).digest() for i in range(2048))  # 64 KiB


def blob_chunks(n, piece=len(_BLOCK)):
    """Yields the first n bytes of the pattern in pieces of at most len(_BLOCK)."""
    left = n
    while left > 0:
        take = min(left, piece)
        yield _BLOCK[:take]
        left -= take


def blob_sha256(n):
    h = hashlib.sha256()
    for c in blob_chunks(n):
        h.update(c)
    return h.hexdigest()


if __name__ == "__main__":
    n = int(sys.argv[1])
    if len(sys.argv) > 2 and sys.argv[2] == "--sha256":
        print(blob_sha256(n))
    else:
        out = sys.stdout.buffer
        for c in blob_chunks(n):
            out.write(c)
