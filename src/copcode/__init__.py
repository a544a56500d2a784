"""copcode: qualitative coding of interview transcripts."""

__version__ = "0.1.0"
# The version of the matching and scoring: part of every cache key, and stored with each
# suggestion. Change it whenever nlp.py or suggest.py would give different results.
ENGINE_VERSION = "copcode-nlp-1"
