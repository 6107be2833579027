# A candidate fix, as `pycstorm run --strategy-file` takes it: a file that
# defines write(path, data). This one is importlib's _write_atomic with the
# gh-126606 check: a write() that returns fewer bytes than asked is an error,
# so the partial temporary file is removed instead of renamed into place.
import os


def write(path, data, mode=0o666):
    tmp = "{}.{}".format(path, id(path))
    fd = os.open(tmp, os.O_EXCL | os.O_CREAT | os.O_WRONLY, mode & 0o666)
    try:
        with open(fd, "wb", buffering=0) as f:
            written = f.write(data)
        if written != len(data):
            raise OSError("short write to {!r}: {} of {} bytes".format(tmp, written, len(data)))
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
