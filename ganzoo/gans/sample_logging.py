"""Sample grids with fixed latents, written as PNG files and sent to the logger.

Images become a grid (torchvision ``make_grid``); 2-D toy samples become a scatter
plot. Files go to ``<log_dir>/samples/iter_<N>.png`` whatever the logger, so a run
with the CSV logger still leaves pictures to look at.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger
from torchvision.utils import make_grid, save_image


def sample_grid_path(module) -> Path:
    trainer = module.trainer
    # Not trainer.log_dir: it broadcasts across processes, and only rank 0 writes samples.
    logger = trainer.logger
    root = (getattr(logger, "log_dir", None) or getattr(logger, "save_dir", None)) if logger else None
    root = root or trainer.default_root_dir
    return Path(root) / "samples" / f"iter_{module.generator_iterations:07d}.png"


@torch.no_grad()
def generate_fixed_samples(module) -> Tensor:
    generator = module.sampling_generator
    was_training = generator.training
    generator.eval()
    try:
        return generator(module.sample_latents.to(module.device)).float().cpu()
    finally:
        generator.train(was_training)


def log_sample_grid(module) -> Path:
    samples = generate_fixed_samples(module)
    path = sample_grid_path(module)
    path.parent.mkdir(parents=True, exist_ok=True)
    if samples.ndim == 4:
        grid = make_grid(samples, nrow=int(len(samples) ** 0.5), normalize=True, value_range=(-1, 1))
        save_image(grid, path)
        _send_to_logger(module, grid, path)
    else:
        save_scatter(samples, path, title=f"generator iteration {module.generator_iterations}")
    return path


def save_scatter(samples: Tensor, path: Path, title: str = "", real: Tensor | None = None) -> None:
    """Scatter plot of 2-D (or 1-D, as a histogram) samples."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 4))
    if samples.shape[1] == 1:
        ax.hist(samples[:, 0].numpy(), bins=50)
    else:
        if real is not None:
            ax.scatter(real[:, 0], real[:, 1], s=2, c="tab:gray", alpha=0.3, label="real")
        ax.scatter(samples[:, 0], samples[:, 1], s=4, c="tab:blue", label="generated")
        ax.set_aspect("equal")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _send_to_logger(module, grid: Tensor, path: Path) -> None:
    for logger in module.trainer.loggers:
        experiment = getattr(logger, "experiment", None)
        if isinstance(logger, TensorBoardLogger):
            experiment.add_image("samples", grid, module.generator_iterations)
        elif isinstance(logger, WandbLogger):  # SafeWandbLogger included
            # No step=: passing global_step would double the axis (DESIGN.md trap).
            logger.log_image(key="samples", images=[str(path)], caption=[f"G iter {module.generator_iterations}"])
