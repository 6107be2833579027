# A candidate fix for `pycstorm run --strategy-file`: the durable variant.
# Loop until every byte is written, fsync the temporary file, rename it over
# the cache, then fsync the directory, so a crash or power cut leaves either
# the old file or the whole new one.
import os


def write(path, data, mode=0o666):
    tmp = "{}.{}".format(path, id(path))
    fd = os.open(tmp, os.O_EXCL | os.O_CREAT | os.O_WRONLY, mode & 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except OSError:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    try:
        os.replace(tmp, path)
    except OSError:
        os.unlink(tmp)
        raise
    dirfd = os.open(os.path.dirname(path) or ".", os.O_RDONLY)
    try:
        os.fsync(dirfd)
    finally:
        os.close(dirfd)
