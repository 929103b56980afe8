"""``ganzoo lab``: the zoo and the theory, live in the browser, offline.

Three tabs: **Zoo** (any bundled model: seed, number of samples, truncation, a latent
interpolation, the model card, the grid to download), **Training, live** (ganzoo's own loop and
losses on a 2-D mixture, with D's heat map, G's gradient field, the losses and the mode
coverage, updating as it trains; pause, step, reset) and **Dirac-GAN** (the vector field, a
trajectory and the Jacobian's eigenvalues for each method and step size).

The server is the standard library's ``http.server`` and the page plain HTML + JavaScript: the
lab needs nothing beyond ganzoo's own dependencies (matplotlib draws the plots) and no network.
"""
from ganzoo.lab.server import make_server, serve

__all__ = ["make_server", "serve"]
