"""A session's own world: fresh namespaces and file systems, entered before student code runs.

The zygote forks one process per session; that process calls `enter()` first. It makes a
user namespace of its own (needs no privilege), and inside it a mount and an IPC namespace,
then mounts fresh, size- and inode-capped tmpfs file systems on the working folder, /tmp and
/dev/shm, joins a new session keyring, and drops every capability. So whatever the session
writes (files, read-only folders, SysV or POSIX IPC objects, keys) lives in namespaces that
only its own processes hold: when the zygote has killed them, the kernel frees all of it.
The zygote never sees, reads or removes a file a student wrote.

Standard library only; run as a script (`isolate.py probe`) it says whether this works here.
"""

import ctypes
import os
import platform
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 4, 24, 38, 47, 4
KEYCTL_JOIN_SESSION_KEYRING = 1
KEYCTL_SYSCALL = {"x86_64": 250, "aarch64": 219, "riscv64": 219, "ppc64le": 280, "s390x": 280}
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
O_PATH = getattr(os, "O_PATH", 0o10000000)

_libc = ctypes.CDLL(None, use_errno=True)


class IsolationError(OSError):
    """The session could not be given a world of its own: it must not run student code."""


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise IsolationError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source, target: str, fstype, flags: int, options) -> None:
    encode = (lambda s: s.encode() if isinstance(s, str) else s)
    _check(_libc.mount(encode(source), target.encode(), encode(fstype), flags, encode(options)), f"mount {target}")


def enter(filesystems: list[dict], keep: list[str]) -> None:
    """Enter fresh namespaces and mount `filesystems` ({path, size, inodes, mode}) in them.
    `keep`: read-only places (Python living under /tmp, say) to show through a new mount."""
    uid, gid = os.geteuid(), os.getegid()
    # the zygote is not dumpable, and a fork inherits that: /proc/self would then belong to
    # root and the maps below could not be written. The session itself may be dumpable.
    _check(_libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "dumpable")
    _check(_libc.unshare(CLONE_NEWUSER), "unshare(user)")
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as handle:
            handle.write(text)
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWIPC), "unshare(mount, ipc)")
    _mount(None, "/", None, MS_REC | MS_PRIVATE, None)
    for fs in filesystems:
        if os.path.isdir(fs["path"]):
            _mount_fresh(fs, [k for k in keep if k.startswith(fs["path"].rstrip("/") + "/")])
    _new_session_keyring()
    drop_capabilities()


def _mount_fresh(fs: dict, keep: list[str]) -> None:
    held = [(path, os.open(path, O_PATH | os.O_DIRECTORY), os.statvfs(path).f_flag) for path in keep]
    options = f"size={fs['size']},nr_inodes={fs['inodes']},mode={fs.get('mode', '1777')}"
    _mount("tmpfs", fs["path"], "tmpfs", MS_NOSUID | MS_NODEV, options)
    for path, fd, flags in held:  # bind the hidden place back from the handle held open
        os.makedirs(path, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC, None)
        locked = MS_RDONLY | (flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC))
        _mount(None, path, None, MS_REMOUNT | MS_BIND | locked, None)
        os.close(fd)


def _new_session_keyring() -> None:
    number = KEYCTL_SYSCALL.get(platform.machine())
    if number is None:
        return
    if _libc.syscall(number, KEYCTL_JOIN_SESSION_KEYRING, None) < 0:
        errno = ctypes.get_errno()
        if errno != 38:  # ENOSYS: a kernel without keys has no keyring to share
            raise IsolationError(errno, f"new session keyring: {os.strerror(errno)}")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_capabilities() -> None:
    """No capability left, none to regain (bounding set empty, no new privileges)."""
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == 22:
            break  # EINVAL: past the last capability this kernel knows
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")


def probe() -> int:
    """Exit status 0 when a forked session can be isolated here."""
    pid = os.fork()
    if pid == 0:
        try:
            enter([{"path": "/tmp", "size": 1 << 20, "inodes": 64}], [])
            os._exit(0)
        except BaseException as exc:  # report any failure as a status, never a traceback
            print(f"isolation: {exc}", file=sys.stderr)
            os._exit(1)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


if __name__ == "__main__" and sys.argv[1:] == ["probe"]:
    sys.exit(probe())
