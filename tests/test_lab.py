"""``ganzoo lab``: started on a free port and driven through its HTTP API, offline, in seconds."""
import io
import json
import threading
import time
import urllib.error
import urllib.request

import pytest
import torch
from PIL import Image

from ganzoo.cli import main
from ganzoo.lab import make_server
from ganzoo.lab.zoo_view import slerp, truncated_latents

FAST_TRAINING = {"hidden": 16, "batch_size": 64, "snapshot_every": 10}


@pytest.fixture(scope="module")
def lab():
    server, state = make_server(port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    state.close()
    server.shutdown()
    server.server_close()


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


def post(url: str, body: dict | None = None) -> dict:
    data = json.dumps(body or {}).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def error_of(url: str, body: dict | None = None) -> tuple[int, str]:
    with pytest.raises(urllib.error.HTTPError) as caught:
        post(url, body) if body is not None else get(url)
    return caught.value.code, json.loads(caught.value.read())["error"]


def image(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def state_after(lab: str, iteration: int, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = json.loads(get(f"{lab}/api/train/state"))
        assert state["error"] is None, state["error"]
        if state["iteration"] >= iteration:
            return state
        time.sleep(0.1)
    raise AssertionError(f"training did not reach iteration {iteration} in {timeout} s")


def test_page_and_zoo_tab(lab):
    page = get(lab + "/").decode()
    assert all(tab in page for tab in ("Zoo", "Training, live", "Dirac-GAN"))
    models = [entry["name"] for entry in json.loads(get(lab + "/api/models"))]
    assert "dcgan-fashion-mnist" in models
    # 16 samples of 28x28 in a 4x4 grid with 2-pixel padding: 4 * 28 + 5 * 2 = 122 pixels a side.
    grid = image(get(lab + "/api/sample.png?model=dcgan-fashion-mnist&n=16&seed=3"))
    assert grid.format == "PNG" and grid.size == (122, 122)
    same = get(lab + "/api/sample.png?model=dcgan-fashion-mnist&n=16&seed=3")
    other = get(lab + "/api/sample.png?model=dcgan-fashion-mnist&n=16&seed=4")
    assert same == get(lab + "/api/sample.png?model=dcgan-fashion-mnist&n=16&seed=3") and same != other
    strip = image(get(lab + "/api/interpolate.png?model=dcgan-fashion-mnist&seed_a=0&seed_b=1&steps=5"))
    assert strip.size == (5 * 28 + 6 * 2, 28 + 2 * 2)
    assert "dcgan-fashion-mnist" in json.loads(get(lab + "/api/card?model=dcgan-fashion-mnist"))["text"]


def test_bad_input_is_one_line_and_a_400(lab):
    code, message = error_of(lab + "/api/sample.png?model=no-such-model")
    assert code == 400 and "unknown model" in message and "\n" not in message
    assert error_of(lab + "/api/sample.png?model=dcgan-fashion-mnist&n=5000") == (400, "n=5000: choose 1 to 256 samples")
    assert error_of(lab + "/api/sample.png?model=dcgan-fashion-mnist&n=x")[1] == "n='x' is not a valid int"
    assert "choose one of" in error_of(lab + "/api/train/start", {"loss": "nope"})[1]
    assert error_of(lab + "/api/train/start", {"prediction": "no"})[1] == "prediction='no': expected true or false"
    assert error_of(lab + "/api/nothing")[0] == 404


def test_live_training_updates_pauses_steps_and_resets(lab):
    started = post(lab + "/api/train/start", {**FAST_TRAINING, "loss": "hinge", "spectral_norm": True})
    assert started["settings"]["loss"] == "hinge" and started["settings"]["spectral_norm"] is True
    early = state_after(lab, 10)
    first_plot = get(lab + "/api/train/plot.png")
    later = state_after(lab, early["iteration"] + 20)
    assert later["d_loss"] is not None and image(first_plot).format == "PNG"
    assert get(lab + "/api/train/plot.png") != first_plot  # the plots change as it trains

    paused = post(lab + "/api/train/pause")
    time.sleep(0.5)
    held = json.loads(get(lab + "/api/train/state"))["iteration"]
    time.sleep(0.5)
    assert paused["paused"] and json.loads(get(lab + "/api/train/state"))["iteration"] == held
    post(lab + "/api/train/step")  # one snapshot's worth of iterations, then paused again
    stepped = state_after(lab, held + FAST_TRAINING["snapshot_every"])
    assert stepped["paused"]

    reset = post(lab + "/api/train/reset")
    assert reset["iteration"] == 0 and reset["paused"] and reset["settings"]["loss"] == "hinge"


def test_dirac_tab_gives_the_closed_form_eigenvalues(lab):
    result = json.loads(get(lab + "/api/dirac.json?method=GAN&scheme=simultaneous&h=0.1&steps=50"))
    assert result["eigenvalues"] == [[0.0, 0.5], [0.0, -0.5]] == result["closed_form_eigenvalues"]
    assert result["update_spectral_radius"] > 1  # simultaneous steps spiral out on the unregularised GAN
    assert image(get(lab + "/api/dirac.png?method=GAN&scheme=alternating&h=0.2&steps=50")).format == "PNG"


def test_truncation_and_slerp():
    plain = truncated_latents(8, 100, seed=5, truncation=None)
    assert torch.equal(plain, torch.randn(100, 8, generator=torch.Generator().manual_seed(5)))
    truncated = truncated_latents(8, 100, seed=5, truncation=0.5)
    assert truncated.abs().max() <= 0.5
    inside = plain.abs() <= 0.5
    assert torch.equal(truncated[inside], plain[inside])  # only the entries outside are redrawn
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    torch.testing.assert_close(slerp(a, b, 0.5), torch.tensor([2**-0.5, 2**-0.5]))


def test_lab_command_refuses_a_bad_port(capsys):
    assert main(["lab", "--port", "70000"]) == 2
    assert "--port 70000: choose 0 to 65535" in capsys.readouterr().err
