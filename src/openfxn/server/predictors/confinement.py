"""The trusted first step of every process that runs a predictor's code.

The server hands the layers to apply in the environment variable
``OPENFXN_CONFINEMENT`` (JSON); ``apply`` removes it and applies them before
the predictor's module is imported:

- resource limits: address space, processes, open files, file size, and no
  core dumps;
- no new privileges, not dumpable (no process of the same uid may read this
  one's memory or environment), and killed when its parent dies;
- for tier B, where bubblewrap cannot run: every capability dropped, a
  Landlock ruleset (read-only system and environment, a writable scratch
  directory, no TCP, signals and abstract sockets kept inside), and a seccomp
  filter that refuses ``socket()`` and the calls that change namespaces,
  trace other processes or load kernel code.

A layer that was asked for and cannot be applied is an error: the process
exits with ``FAILED_STATUS`` and says which layer, rather than running the
predictor less confined than the server believes.

Standard library only: this module runs inside the predictor's environment.
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
import resource
import signal
import struct
import sys
from typing import Any

VARIABLE = "OPENFXN_CONFINEMENT"
FAILED_STATUS = 111

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_SECCOMP = 22
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
SECCOMP_MODE_FILTER = 2
LAST_CAPABILITY = 63

LANDLOCK_CREATE_RULESET, LANDLOCK_ADD_RULE, LANDLOCK_RESTRICT_SELF = 444, 445, 446
LANDLOCK_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1
# Filesystem rights, by the ABI that introduced them.
FS_RIGHTS = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
FS_READ = 1 | 4 | 8  # execute, read file, read directory
FS_FILE_ONLY = 1 | 2 | 4 | (1 << 14) | (1 << 15)  # rights a rule on a file may hold
NET_TCP = 1 | 2  # bind and connect
SCOPES = 1 | 2  # abstract Unix sockets and signals

# seccomp: the architectures this filter knows, and their system call numbers.
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
SYSCALLS = {
    "x86_64": {
        "socket": 41, "clone": 56, "ptrace": 101, "capset": 126, "pivot_root": 155,
        "mount": 165, "umount2": 166, "init_module": 175, "kexec_load": 246,
        "add_key": 248, "request_key": 249, "keyctl": 250, "unshare": 272,
        "perf_event_open": 298, "open_by_handle_at": 304, "setns": 308,
        "process_vm_readv": 310, "process_vm_writev": 311, "finit_module": 313,
        "bpf": 321, "userfaultfd": 323, "io_uring_setup": 425, "clone3": 435,
    },
    "aarch64": {
        "socket": 198, "clone": 220, "ptrace": 117, "capset": 91, "pivot_root": 41,
        "mount": 40, "umount2": 39, "init_module": 105, "kexec_load": 104,
        "add_key": 217, "request_key": 218, "keyctl": 219, "unshare": 97,
        "perf_event_open": 241, "open_by_handle_at": 265, "setns": 268,
        "process_vm_readv": 270, "process_vm_writev": 271, "finit_module": 273,
        "bpf": 280, "userfaultfd": 282, "io_uring_setup": 425, "clone3": 435,
    },
}  # fmt: skip
DENIED = (
    "ptrace", "pivot_root", "mount", "umount2", "init_module", "kexec_load",
    "add_key", "request_key", "keyctl", "unshare", "perf_event_open",
    "open_by_handle_at", "setns", "process_vm_readv", "process_vm_writev",
    "finit_module", "bpf", "userfaultfd", "io_uring_setup",
)  # fmt: skip
CLONE_NEW_ANY = 0x7E020000  # CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | ...
X32_BIT = 0x40000000
EPERM, ENOSYS, EAFNOSUPPORT = 1, 38, 97
RET_KILL, RET_ALLOW, RET_ERRNO = 0x80000000, 0x7FFF0000, 0x00050000
LD_ABS, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06


class ConfinementError(Exception):
    """A layer the server asked for could not be applied."""


def apply() -> None:
    """Apply the layers the server asked for, if it asked; ConfinementError
    names the one that failed."""
    text = os.environ.pop(VARIABLE, None)
    if text is None:
        return
    layers: dict[str, Any] = json.loads(text)
    parent = os.getppid()
    for name, value in layers.get("rlimits", {}).items():
        lower_limit(name, int(value))
    libc = ctypes.CDLL(None, use_errno=True)
    prctl(libc, PR_SET_NO_NEW_PRIVS, 1, "no new privileges")
    prctl(libc, PR_SET_DUMPABLE, 0, "not dumpable")
    prctl(libc, PR_SET_PDEATHSIG, signal.SIGKILL, "parent-death signal")
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(FAILED_STATUS)
    if "landlock" in layers:
        drop_capabilities(libc)
        restrict_filesystem(libc, layers["landlock"])
    if "seccomp" in layers:
        load_filter(libc, layers["seccomp"])


def lower_limit(name: str, value: int) -> None:
    which = getattr(resource, f"RLIMIT_{name.upper()}")
    _soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    try:
        resource.setrlimit(which, (value, value))
    except (ValueError, OSError) as error:
        raise ConfinementError(f"the {name} limit: {error}") from None


def prctl(libc: Any, option: int, value: int, layer: str) -> None:
    if libc.prctl(option, value, 0, 0, 0) != 0:
        raise ConfinementError(f"{layer}: {os.strerror(ctypes.get_errno())}")


def drop_capabilities(libc: Any) -> None:
    """No capability now, and none after an exec, even as root."""
    for capability in range(LAST_CAPABILITY + 1):
        libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)  # EINVAL past the last
    header = struct.pack("=Ii", 0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = bytes(24)  # effective, permitted, inheritable: all empty, twice
    number = SYSCALLS[machine()]["capset"]
    if libc.syscall(number, header, data) != 0:
        raise ConfinementError(f"capabilities: {os.strerror(ctypes.get_errno())}")


def landlock_abi(libc: Any) -> int:
    """The Landlock ABI this kernel offers; 0 when it has none."""
    version = libc.syscall(LANDLOCK_CREATE_RULESET, None, 0, LANDLOCK_VERSION)
    return max(0, int(version))


def restrict_filesystem(libc: Any, rules: dict[str, list[str]]) -> None:
    abi = landlock_abi(libc)
    if abi < 1:
        raise ConfinementError("Landlock is not available in this kernel")
    handled = FS_RIGHTS[max(version for version in FS_RIGHTS if version <= abi)]
    attribute = struct.pack("=QQQ", handled, NET_TCP if abi >= 4 else 0, SCOPES)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    ruleset = libc.syscall(LANDLOCK_CREATE_RULESET, attribute, size, 0)
    if ruleset < 0:
        raise ConfinementError(f"Landlock: {os.strerror(ctypes.get_errno())}")
    try:
        for path in rules.get("read", []):
            allow(libc, ruleset, path, FS_READ)
        for path in rules.get("write", []):
            allow(libc, ruleset, path, handled)
        if libc.syscall(LANDLOCK_RESTRICT_SELF, ruleset, 0) != 0:
            raise ConfinementError(f"Landlock: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(ruleset)


def allow(libc: Any, ruleset: int, path: str, rights: int) -> None:
    try:
        descriptor = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # nothing there to allow
    try:
        if not os.path.isdir(path):
            rights &= FS_FILE_ONLY
        rule = struct.pack("=Qi", rights, descriptor)
        if libc.syscall(
            LANDLOCK_ADD_RULE, ruleset, LANDLOCK_RULE_PATH_BENEATH, rule, 0
        ):
            error = os.strerror(ctypes.get_errno())
            raise ConfinementError(f"Landlock rule for {path}: {error}")
    finally:
        os.close(descriptor)


def machine() -> str:
    name = platform.machine().lower()
    name = {"amd64": "x86_64", "arm64": "aarch64"}.get(name, name)
    if name not in SYSCALLS:
        raise ConfinementError(f"seccomp: no system call table for {name}")
    return name


def seccomp_program(arch: str, deny_sockets: bool) -> list[tuple[int, int, int, int]]:
    """The filter, as BPF instructions (code, jump if true, jump if false, k)."""
    numbers = SYSCALLS[arch]
    program = [(LD_ABS, 0, 0, 4), (JEQ, 1, 0, AUDIT_ARCH[arch]), (RET, 0, 0, RET_KILL)]
    program.append((LD_ABS, 0, 0, 0))
    if arch == "x86_64":  # the x32 numbering of the same calls
        program += [(JGE, 0, 1, X32_BIT), (RET, 0, 0, RET_ERRNO | ENOSYS)]
    refused = [(numbers[name], EPERM) for name in DENIED]
    refused.append((numbers["clone3"], ENOSYS))  # the C library falls back to clone
    if deny_sockets:
        refused.append((numbers["socket"], EAFNOSUPPORT))
    for number, errno in refused:
        program += [(JEQ, 0, 1, number), (RET, 0, 0, RET_ERRNO | errno)]
    # clone is allowed, except with a flag that makes a new namespace
    program += [
        (JEQ, 0, 3, numbers["clone"]),
        (LD_ABS, 0, 0, 16),  # the low half of the first argument: the flags
        (JSET, 0, 1, CLONE_NEW_ANY),
        (RET, 0, 0, RET_ERRNO | EPERM),
        (RET, 0, 0, RET_ALLOW),
    ]
    return program


def load_filter(libc: Any, options: dict[str, Any]) -> None:
    program = seccomp_program(machine(), bool(options.get("deny_sockets")))
    code = b"".join(struct.pack("=HBBI", *instruction) for instruction in program)
    buffer = ctypes.create_string_buffer(code, len(code))
    # struct sock_fprog: an unsigned short count, then an aligned pointer
    fprog = struct.pack("@HP", len(program), ctypes.addressof(buffer))
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, fprog, 0, 0) != 0:
        raise ConfinementError(f"seccomp: {os.strerror(ctypes.get_errno())}")


def apply_or_exit() -> None:
    """``apply``, or say which layer failed and exit with FAILED_STATUS."""
    try:
        apply()
    except ConfinementError as error:
        print(f"The sandbox could not be applied: {error}", file=sys.stderr)
        sys.stderr.flush()
        os._exit(FAILED_STATUS)
