"""What every ganzoo datamodule shares: a GLOBAL batch size and a seeded, rank-aware order.

``batch_size`` means the global batch (what the paper's recipe says). Under DDP each of the
``W`` processes loads ``batch_size // W`` samples per step, so a recipe gives the same
optimisation whatever the GPU count.

The order of samples comes from :class:`GlobalBatchSampler`: one permutation of the data set
per epoch, drawn from ``seed + epoch`` (not from the global RNG), cut into global batches;
process ``r`` takes the ``r``-th contiguous slice of each global batch. Hence

* same seed -> same batches, run after run, with any ``num_workers``;
* the processes see disjoint samples, and together exactly the single-process global batch,
  in the same order - which is also how ``ganzoo.gans`` slices the global batch of latents,
  so each real sample meets the same latent on 1 or N GPUs (matters for pairings such as
  WGAN-GP's interpolates).

The sampler subclasses ``DistributedSampler`` so Lightning keeps it (it only injects its own
sampler into loaders that do not have one) and calls ``set_epoch`` on it every epoch.
The train dataloader is a :class:`ResumableDataLoader`: its position within the epoch is saved in
checkpoints, so a run resumed mid-epoch sees the same batches as an uninterrupted one.
"""
from __future__ import annotations

from typing import Iterator

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, DistributedSampler


def per_process_batch_size(global_batch_size: int, world_size: int) -> int:
    """``global_batch_size // world_size``; ValueError naming both when it does not divide."""
    if global_batch_size % world_size:
        raise ValueError(
            f"the global batch_size {global_batch_size} is not divisible by the world size {world_size} "
            f"(number of processes); choose a batch_size that is a multiple of {world_size}"
        )
    return global_batch_size // world_size


class BatchFetchDataset(Dataset):
    """A data set that hands the DataLoader a whole batch at once.

    ``DataLoader`` calls ``__getitems__`` with the batch's indices when a data set has it; for
    in-memory tensors one indexing op replaces B Python calls and B-way collation (about 10x
    faster for the toy data). Loaders over such a data set use :func:`collate_fetched`.
    """

    def __getitems__(self, indices: list[int]) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        x, y = self.__getitems__([index])
        return x[0], y[0]


def collate_fetched(batch: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
    """Collate for a :class:`BatchFetchDataset`: ``__getitems__`` already returned the batch."""
    return batch


class TensorPairDataset(BatchFetchDataset):
    """``(x[i], y[i])`` from two in-memory tensors."""

    def __init__(self, x: Tensor, y: Tensor) -> None:
        if len(x) != len(y):
            raise ValueError(f"x and y differ in length: {len(x)} vs {len(y)}")
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.x)

    def __getitems__(self, indices: list[int]) -> tuple[Tensor, Tensor]:
        index = torch.as_tensor(indices, dtype=torch.long)
        return self.x[index], self.y[index]


class GlobalBatchSampler(DistributedSampler):
    """Yields this process's share of each global batch, in a permutation drawn from ``seed + epoch``.

    With ``num_replicas=W``, ``rank=r`` and ``global_batch_size=B`` the stream is, for each
    global batch ``k`` of the epoch's permutation ``perm``,
    ``perm[k*B + r*B/W : k*B + (r+1)*B/W]``. The last incomplete global batch is dropped on
    every process, so all processes take the same number of steps.
    """

    def __init__(self, dataset: Dataset, global_batch_size: int, num_replicas: int = 1, rank: int = 0,
                 seed: int = 0, shuffle: bool = True) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed, drop_last=True)
        self.global_batch_size = int(global_batch_size)
        self.local_batch_size = per_process_batch_size(self.global_batch_size, num_replicas)
        size = len(dataset)  # type: ignore[arg-type]
        self.num_global_batches = size // self.global_batch_size
        if self.num_global_batches == 0:
            raise ValueError(f"the data set has {size} samples, fewer than one global batch of {global_batch_size}")
        self.num_samples = self.num_global_batches * self.local_batch_size
        self.total_size = self.num_global_batches * self.global_batch_size
        # The first global batch of the current pass: 0, except in an epoch resumed mid-way.
        # ``__len__`` keeps counting the whole epoch: Lightning adds the batches already done.
        self.first_batch = 0
        self._resume_at: tuple[int, int] | None = None

    def resume_at(self, epoch: int, batches_done: int) -> None:
        """Make the next pass over ``epoch`` skip its first ``batches_done`` global batches.

        Applied when the pass starts (after Lightning's ``set_epoch``), and only if the epoch
        matches: a checkpoint written at the very end of an epoch resumes with the next one.
        """
        if not 0 <= batches_done <= self.num_global_batches:
            raise ValueError(
                f"checkpointed data position {batches_done} is outside an epoch of {self.num_global_batches} "
                "global batches: was the run resumed with a different data set or batch size?"
            )
        self._resume_at = (epoch, batches_done)

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)  # type: ignore[arg-type]
        if self.shuffle:
            order = torch.randperm(n, generator=torch.Generator().manual_seed(self.seed + self.epoch))
        else:
            order = torch.arange(n)
        batches = order[: self.total_size].view(self.num_global_batches, self.global_batch_size)
        start = self.rank * self.local_batch_size
        # A resumed epoch starts after the global batches the interrupted run already used.
        self.first_batch = 0
        if self._resume_at is not None:
            epoch, done = self._resume_at
            self._resume_at = None
            self.first_batch = done if epoch == self.epoch else 0
        batches = batches[self.first_batch :]
        return iter(batches[:, start : start + self.local_batch_size].reshape(-1).tolist())

    def __len__(self) -> int:
        return self.num_samples


class ResumableDataLoader(DataLoader):
    """A ``DataLoader`` over a :class:`GlobalBatchSampler` that resumes mid-epoch where it stopped.

    Lightning saves ``state_dict()`` of a train dataloader that has one in every checkpoint and
    hands it back through ``load_state_dict`` when a run resumes mid-epoch. Without this, the
    resumed run would start the interrupted epoch again from its first batch (Lightning warns
    "your dataloader is not resumable") and every later batch would differ from the
    uninterrupted run. The state is the epoch and the number of its batches handed out so far:
    Lightning fetches one batch per training step and does not prefetch from sized loaders, so
    at checkpoint time that is the number of batches trained on.
    """

    def __init__(self, dataset: Dataset, *, sampler: GlobalBatchSampler, **kwargs) -> None:
        super().__init__(dataset, sampler=sampler, **kwargs)
        self._yielded = 0  # batches handed out in the current pass

    def __iter__(self):
        self._yielded = 0
        # Build torch's iterator now, not at the first batch: it draws a seed from the global RNG,
        # and ganzoo.callbacks.RNGStateCheckpoint restores that RNG after Lightning created it.
        return _CountingIterator(self, super().__iter__())

    def state_dict(self) -> dict[str, int]:
        sampler: GlobalBatchSampler = self.sampler  # type: ignore[assignment]
        return {"epoch": int(sampler.epoch), "batches_done": sampler.first_batch + self._yielded}

    def load_state_dict(self, state_dict: dict[str, int]) -> None:
        self.sampler.resume_at(int(state_dict["epoch"]), int(state_dict["batches_done"]))  # type: ignore[attr-defined]


class _CountingIterator:
    """Passes batches through, counting them in the loader."""

    def __init__(self, loader: ResumableDataLoader, batches) -> None:
        self.loader, self.batches = loader, batches

    def __iter__(self) -> "_CountingIterator":
        return self

    def __next__(self):
        batch = next(self.batches)
        self.loader._yielded += 1
        return batch


class GlobalBatchDataModule(L.LightningDataModule):
    """Base of every ganzoo datamodule: global batch size, seeded order, DDP sharding.

    Subclasses set ``self.train_dataset`` in ``setup`` (after calling ``super().setup``).
    """

    def __init__(self, batch_size: int, seed: int = 0, num_workers: int = 0) -> None:
        super().__init__()
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if int(num_workers) < 0:
            raise ValueError(f"num_workers must be >= 0, got {num_workers}")
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.num_workers = int(num_workers)
        self.train_dataset: Dataset | None = None

    @property
    def world_size(self) -> int:
        """Number of processes of the attached trainer (1 when used on its own)."""
        return int(self.trainer.world_size) if self.trainer is not None else 1

    @property
    def rank(self) -> int:
        """Global rank of this process in the attached trainer (0 when used on its own)."""
        return int(self.trainer.global_rank) if self.trainer is not None else 0

    @property
    def per_process_batch_size(self) -> int:
        """The batch each process loads: ``batch_size // world_size``."""
        return per_process_batch_size(self.batch_size, self.world_size)

    def setup(self, stage: str | None = None) -> None:
        self.per_process_batch_size  # noqa: B018  (fail early, naming both numbers)

    def train_dataloader(self) -> DataLoader:
        if self.train_dataset is None:
            self.setup("fit")
        assert self.train_dataset is not None
        sampler = GlobalBatchSampler(self.train_dataset, self.batch_size, num_replicas=self.world_size,
                                     rank=self.rank, seed=self.seed)
        return ResumableDataLoader(
            self.train_dataset,
            batch_size=sampler.local_batch_size,
            sampler=sampler,
            drop_last=True,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=torch.cuda.is_available(),
            collate_fn=collate_fetched if isinstance(self.train_dataset, BatchFetchDataset) else None,
        )

