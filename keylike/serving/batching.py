"""Batch concurrent requests into one generate call: a small asyncio queue with a size and a wait limit.

The first request that arrives opens a batch; the batch closes when it holds `max_batch_size`
images or `max_wait_ms` after it opened, whichever comes first. The batch then runs on one worker
thread (the model is not re-entrant), so the event loop keeps accepting and rejecting requests
while the model works, and the requests that arrive meanwhile form the next batch.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from keylike.config import check

In = TypeVar("In")
Out = TypeVar("Out")


@dataclass(frozen=True)
class BatchConfig:
    """How requests are grouped."""

    max_batch_size: int = 8
    """Most images in one generate call."""
    max_wait_ms: float = 10.0
    """How long the first request of a batch waits for others."""

    def __post_init__(self) -> None:
        check(self.max_batch_size >= 1, "max_batch_size", f"must be >= 1, got {self.max_batch_size}")
        check(self.max_wait_ms >= 0, "max_wait_ms", f"must be >= 0, got {self.max_wait_ms}")


@dataclass
class BatchStats:
    """Counters shown by GET /health."""

    requests: int = 0
    batches: int = 0
    largest_batch: int = 0


class BatchQueue(Generic[In, Out]):
    """Collects submitted items and runs `run_batch` on lists of them, one batch at a time."""

    def __init__(self, run_batch: Callable[[list[In]], Sequence[Out]], config: BatchConfig) -> None:
        self._run_batch = run_batch
        self.config = config
        self.stats = BatchStats()
        self._queue: asyncio.Queue[tuple[In, asyncio.Future[Out]]] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None

    async def start(self) -> None:
        """Start the worker task (call inside the running event loop)."""
        self._queue = asyncio.Queue()
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="keylike-generate")
        self._worker = asyncio.create_task(self._work())

    async def stop(self) -> None:
        """Stop the worker and its thread."""
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    @property
    def pending(self) -> int:
        """Items waiting for a batch (not counting the batch being run)."""
        return 0 if self._queue is None else self._queue.qsize()

    async def submit(self, item: In) -> Out:
        """Queue `item` and wait for its result (an exception of its batch is raised here)."""
        if self._queue is None:
            raise RuntimeError("BatchQueue.start() was not called")
        future: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
        await self._queue.put((item, future))
        return await future

    async def _collect(self) -> list[tuple[In, asyncio.Future[Out]]]:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        batch = [await self._queue.get()]
        deadline = loop.time() + self.config.max_wait_ms / 1000
        while len(batch) < self.config.max_batch_size:
            if not self._queue.empty():
                batch.append(self._queue.get_nowait())
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self._queue.get(), remaining))
            except TimeoutError:
                break
        return batch

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [(item, future) for item, future in await self._collect() if not future.cancelled()]
            if not batch:
                continue
            self.stats.batches += 1
            self.stats.requests += len(batch)
            self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
            try:
                results = await loop.run_in_executor(self._executor, self._run_batch, [item for item, _ in batch])
            except Exception as exc:  # the batch failed: hand the error to every request that waits on it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
