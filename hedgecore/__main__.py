"""`python -m hedgecore`: the same command line as the `hedgecore` console script."""

from hedgecore.cli.main import run

if __name__ == "__main__":
    run()
