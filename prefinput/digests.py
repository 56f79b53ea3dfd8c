"""Digests of files and of text: the downloads' checksums, the model check's
cache keys, the patched definitions' stamps and the sweep's record of the
files each point wrote."""
import hashlib

BLOCK = 1 << 20  # bytes read at a time: a 200 MB caffemodel never sits in memory whole


def file_digest(path, algorithm="sha256"):
    """The hex digest (hashlib's `algorithm`) of the file at `path`."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(BLOCK), b""):
            h.update(block)
    return h.hexdigest()


def text_sha256(text):
    """The hex sha256 of `text`, UTF-8 encoded."""
    return hashlib.sha256(text.encode()).hexdigest()
