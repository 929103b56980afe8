"""The small CNN used as an in-domain feature extractor (Fashion-MNIST, CIFAR-10).

Inception-v3 was trained on ImageNet photographs; on 28x28 grey clothes or 32x32 CIFAR
thumbnails its features say little about what matters in the domain. A classifier trained
on the data set itself gives features that do: its penultimate layer plays the role of
Inception's pool3 (FID, KID, precision/recall) and its softmax the role of Inception's
class posterior (IS).

The network is deliberately plain (conv-BN-ReLU stages with max-pooling, average pooling to
a small grid, one hidden linear layer) so that its features are easy to reason about and cheap to
compute on a CPU. Inputs are images in [-1, 1], exactly what generators produce.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn


def _conv_bn_relu(in_channels: int, out_channels: int) -> list[nn.Module]:
    return [
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    ]


class FeatureClassifier(nn.Module):
    """Conv stages -> average pool -> ``feature_dim`` hidden units -> class logits.

    Args:
        in_channels: 1 (grey) or 3 (RGB).
        image_size: side of the square input the network is trained on (28 or 32).
        num_classes: number of classes (10 for both data sets).
        widths: output channels of each stage; every stage but the last ends with a 2x2 max-pool.
        convs_per_stage: conv-BN-ReLU layers per stage.
        pooled_size: the last feature map is average-pooled to ``pooled_size x pooled_size`` and
            flattened (1 = global average pooling; 3 keeps the coarse layout that tells a shirt
            from a T-shirt).
        feature_dim: width of the penultimate layer, i.e. the feature dimension used by FID.
        dropout: dropout before the classification layer (training only).
    """

    def __init__(
        self,
        in_channels: int = 1,
        image_size: int = 28,
        num_classes: int = 10,
        widths: Sequence[int] = (32, 64, 128),
        convs_per_stage: int = 2,
        pooled_size: int = 1,
        feature_dim: int = 256,
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        if in_channels not in (1, 3):
            raise ValueError(f"in_channels must be 1 or 3, got {in_channels}")
        self.in_channels = int(in_channels)
        self.image_size = int(image_size)
        self.num_classes = int(num_classes)
        self.num_features = int(feature_dim)  # torchmetrics reads this attribute
        self.config = {
            "in_channels": self.in_channels, "image_size": self.image_size, "num_classes": self.num_classes,
            "widths": [int(w) for w in widths], "convs_per_stage": int(convs_per_stage),
            "pooled_size": int(pooled_size), "feature_dim": self.num_features, "dropout": float(dropout),
        }

        layers: list[nn.Module] = []
        channels = in_channels
        for stage, width in enumerate(widths):
            for _ in range(convs_per_stage):
                layers += _conv_bn_relu(channels, width)
                channels = width
            if stage < len(widths) - 1:
                layers.append(nn.MaxPool2d(2))
        self.trunk = nn.Sequential(*layers)
        self.embed = nn.Sequential(
            nn.AdaptiveAvgPool2d(pooled_size),
            nn.Flatten(),
            nn.Linear(channels * pooled_size**2, feature_dim, bias=False),
            nn.BatchNorm1d(feature_dim),
            nn.ReLU(inplace=True),
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(feature_dim, num_classes)

    def features_and_logits(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """(penultimate features (N, feature_dim), class logits (N, num_classes))."""
        features = self.embed(self.trunk(images))
        return features, self.head(self.dropout(features))

    def forward(self, images: Tensor) -> Tensor:
        return self.features_and_logits(images)[1]


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# Architectures shipped with ganzoo, by data set. The training script and the loader both use
# these, so a card's ``architecture`` entry and the code can never disagree silently.
ARCHITECTURES: dict[str, dict] = {
    "fashion-mnist": dict(in_channels=1, image_size=28, num_classes=10, widths=(32, 64, 128), convs_per_stage=1,
                          pooled_size=3, feature_dim=256, dropout=0.3),
    "cifar10": dict(in_channels=3, image_size=32, num_classes=10, widths=(64, 128, 256), convs_per_stage=2,
                    pooled_size=2, feature_dim=512, dropout=0.3),
}


def build_classifier(dataset: str) -> FeatureClassifier:
    if dataset not in ARCHITECTURES:
        raise ValueError(f"no classifier architecture for data set {dataset!r}; known: {', '.join(ARCHITECTURES)}")
    return FeatureClassifier(**ARCHITECTURES[dataset])


@torch.no_grad()
def accuracy(model: nn.Module, images: Tensor, labels: Tensor, batch_size: int = 1000) -> float:
    """Top-1 accuracy of ``model`` (in eval mode) on uint8 images converted to [-1, 1]."""
    model.eval()
    device = next(model.parameters()).device
    correct = 0
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size].to(device).float() / 127.5 - 1
        correct += (model(batch).argmax(1).cpu() == labels[start:start + batch_size]).sum().item()
    return correct / len(images)
