"""r1ci: teach language models to reason with a code interpreter."""
__version__ = "0.1.0"
