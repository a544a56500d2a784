"""copcode: qualitative coding of interview transcripts."""

__version__ = "0.1.0"
# The version of the matching and scoring: part of every cache key, and stored with each
# suggestion. Change it whenever nlp.py or suggest.py would give different results.
ENGINE_VERSION = "copcode-nlp-1"


def versions() -> dict[str, str]:
    """copcode's version, its engine's, and those of the packages that decide suggestions,
    read from the installed metadata (nothing heavy is imported)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    found = {"copcode": __version__, "engine": ENGINE_VERSION}
    for package in ("spacy", "spacy-lookups-data"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    found["python"] = platform.python_version()
    return found
