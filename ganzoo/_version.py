"""The package version, in a module of its own so that every part of ganzoo can import it at the top."""
__version__ = "0.1.0"  # keep equal to pyproject.toml's version (tests/test_zoo.py checks)
