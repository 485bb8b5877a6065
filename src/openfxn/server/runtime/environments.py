"""Python environments for predictors: one per requirement set, shared by every
predictor that asks for the same set, built with uv, never the server's own."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import sys
from collections import defaultdict
from pathlib import Path

from uv import find_uv_bin

READY = ".openfxn-ready"
OUTPUT_LIMIT = 4000


class RequirementsError(Exception):
    """An environment that could not be built; the message is for the author."""


class Environments:
    def __init__(self, root: Path, timeout: float) -> None:
        self.root = root
        self.timeout = timeout
        self.locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def directory(self, requirements: tuple[str, ...]) -> Path:
        identity = json.dumps([sys.version_info[:2], sorted(set(requirements))])
        return self.root / hashlib.sha256(identity.encode()).hexdigest()[:16]

    async def ensure(self, requirements: tuple[str, ...]) -> Path:
        """The Python of the environment for ``requirements``; built if missing."""
        directory = self.directory(requirements)
        async with self.locks[directory.name]:
            if not (directory / READY).exists():
                await self.build(directory, requirements)
        return directory / "bin" / "python"

    async def build(self, directory: Path, requirements: tuple[str, ...]) -> None:
        staging = directory.with_name(directory.name + ".building")
        shutil.rmtree(staging, ignore_errors=True)
        await self.uv("venv", "--quiet", "--python", sys.executable, str(staging))
        if requirements:
            python = str(staging / "bin" / "python")
            await self.uv("pip", "install", "-q", "--python", python, *requirements)
        (staging / READY).write_text("\n".join(requirements))
        shutil.rmtree(directory, ignore_errors=True)
        staging.rename(directory)

    async def uv(self, *arguments: str) -> None:
        environment = {
            **os.environ,
            "UV_PYTHON_DOWNLOADS": "never",  # use this Python, never fetch one
            "UV_NO_CONFIG": "1",
        }
        process = await asyncio.create_subprocess_exec(
            find_uv_bin(),
            *arguments,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=environment,
        )
        try:
            _, stderr = await asyncio.wait_for(process.communicate(), self.timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise RequirementsError(
                f"Installing the requirements took longer than {self.timeout:.0f} s."
            ) from None
        except asyncio.CancelledError:  # the server is stopping
            process.kill()
            await asyncio.shield(process.wait())
            raise
        if process.returncode != 0:
            detail = stderr.decode(errors="replace").strip()[-OUTPUT_LIMIT:]
            raise RequirementsError(f"The requirements did not install:\n{detail}")
