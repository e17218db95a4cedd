"""The one place hedgecore's version is written; setup, the CLI and __init__ read it."""

__version__ = "0.1.0"
